// Errors a user can cause carry a stable code (KLNxxxx) and, where known, the node they concern.
// The CLI prints them as one line each and exits 2; anything else is an internal error (a bug).

export interface Diagnostic {
  code: string;
  message: string;
  node?: string;
  /** A tool's log lines that explain the failure: printed indented under the one coded line. */
  detail?: string;
}

/** Stable error codes. Tests pin them; never renumber. */
export const Code = {
  FileNotFound: 'KLN1001',
  MalformedModel: 'KLN1002',
  UnsupportedOp: 'KLN1003',
  ExternalData: 'KLN1004',
  TensorTooLarge: 'KLN1005',
  GraphCycle: 'KLN1006',
  DanglingTensor: 'KLN1007',
  BadAttribute: 'KLN1008',
  ShapeMismatch: 'KLN1009',
  UnsupportedDType: 'KLN1010',
  BadInputFile: 'KLN1011',
  InputMismatch: 'KLN1012',
  BadIrText: 'KLN1013',
  BadArgument: 'KLN1014',
  OutputExists: 'KLN1015',
  BadOutputPath: 'KLN1016',
  CannotLower: 'KLN2001',
  BadFolding: 'KLN2002',
  FoldInfeasible: 'KLN2003',
  UnknownDevice: 'KLN2004',
  StreamTooWide: 'KLN2005',
  ToolMissing: 'KLN3001',
  ToolFailed: 'KLN3002',
  SimDeadlock: 'KLN3003',
  TimingFailed: 'KLN3004',
  DeviceNoResponse: 'KLN3005',
  DeviceDisconnected: 'KLN3006',
  QueueUnavailable: 'KLN3007',
  JobTimeout: 'KLN3008',
} as const;
export type CodeName = keyof typeof Code;

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * s with control characters written as escapes (\n, \x1b, \u2028): a name from a model or a command
 * line can hold any of them, and printed raw they split one diagnostic line or drive the terminal.
 */
export function escapeControl(s: string): string {
  return s.replace(CONTROL, (c) => NAMED[c] ?? (c.charCodeAt(0) < 0x100 ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16)}`));
}

/** One line, whatever the names in it hold (then the detail, indented, if any). */
function formatOne(d: Diagnostic): string {
  const line = escapeControl(`${d.code} ${d.message}${d.node !== undefined ? ` at node '${d.node}'` : ''}`);
  const detail = d.detail?.trimEnd().split('\n').map((l) => `  ${escapeControl(l)}`) ?? [];
  return [line, ...detail].join('\n');
}

/** A user error: one or more diagnostics. Thrown through the library, printed by the CLI. */
export class KilnError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic | Diagnostic[]) {
    const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics];
    super(list.map(formatOne).join('\n'));
    this.name = 'KilnError';
    this.diagnostics = list;
  }
  get code(): string {
    return this.diagnostics[0].code;
  }
}

/** Throws a single-diagnostic KilnError. */
export function fail(code: CodeName, message: string, node?: string): never {
  throw new KilnError({ code: Code[code], message, node });
}

/** A bug in kiln, not the user's fault: printed with a stack trace. */
export class InternalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InternalError';
  }
}

export function assertInternal(cond: unknown, message: string): asserts cond {
  if (!cond) throw new InternalError(message);
}

export { formatOne as formatDiagnostic };
