// apache-md5 ships no types: APR-MD5 ($apr1$) as Apache's htpasswd writes it.
declare module 'apache-md5' {
  /** Hashes `password` with a new salt, or with the salt of `salt` (an existing $apr1$ hash). */
  export default function apacheMd5(password: string, salt?: string): string;
}
