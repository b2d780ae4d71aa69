/** Thrown by the Sandbox methods; the admin routes turn them into 404 and 409. Messages echo no input. */
export class SandboxNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxNotFoundError';
  }
}

export class SandboxConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxConflictError';
  }
}
