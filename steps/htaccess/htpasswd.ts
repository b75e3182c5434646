// Password hashes Apache reads in an htpasswd file. bcrypt (bcryptjs: pure JavaScript, no native
// build on the box) written as $2y$, the form `htpasswd -B` writes, for Apache 2.4; APR-MD5 ($apr1$,
// the apache-md5 package) for Apache 2.2, whose apr-util cannot read bcrypt.
import bcrypt from 'bcryptjs';
import apacheMd5 from 'apache-md5';

const BCRYPT_COST = 12;

export function hashPassword(password: string, apacheVersion: '2.2' | '2.4'): string {
  if (apacheVersion === '2.2') return apacheMd5(password);
  return `$2y$${bcrypt.hashSync(password, BCRYPT_COST).slice(4)}`;
}

/** Does the password match this hash (either form)? */
export function passwordMatches(password: string, hash: string): boolean {
  if (hash.startsWith('$apr1$')) return apacheMd5(password, hash) === hash;
  if (/^\$2[aby]\$/.test(hash)) return bcrypt.compareSync(password, `$2b$${hash.slice(4)}`);
  return false;
}
