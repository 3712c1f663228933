/** `url` without its password (`amqp://user:***@host`), for output; non-URLs are returned unchanged. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
