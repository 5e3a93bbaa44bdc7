/** Raised for values a resume token cannot hold and for malformed KeyString bytes. */
export class KeyStringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyStringError';
  }
}
