// Signing with the person's own OpenSSH key: `ssh-keygen -Y sign` over the DSSE PAE bytes on standard input.
// Only the signing is OpenSSH's; what it returns is checked by our own strict verifier (lib/core/sshsig.ts).
import { spawn } from 'node:child_process';
import { UsageError } from '../core/errors.js';
import { SSHSIG_HASH } from '../core/sshsig.js';

export interface SshSignRequest {
  /** A private key file, or with `agent` the public key of a key held by ssh-agent. */
  keyFile: string;
  agent: boolean;
  namespace: string;
  data: Uint8Array;
  /** Each line ssh-keygen writes to stderr ("Confirm user presence for key …"), as it comes. */
  onMessage: (line: string) => void;
}

/**
 * The armoured signature ssh-keygen writes. It reads passphrases and a security-key PIN from /dev/tty, never from our
 * pipe; its messages (the touch request) are passed on line by line, but for its note that it signs standard input.
 */
export function sshKeygenSign(req: SshSignRequest): Promise<string> {
  const args = ['-Y', 'sign', '-n', req.namespace, '-O', `hashalg=${SSHSIG_HASH}`, ...(req.agent ? ['-U'] : []), '-f', req.keyFile];
  return new Promise((resolve, reject) => {
    const child = spawn('ssh-keygen', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    let pending = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      const lines = (pending + text).split('\n');
      pending = lines.pop()!;
      for (const line of lines) if (line !== 'Signing data on standard input') req.onMessage(line);
    });
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(new UsageError('IO', err.code === 'ENOENT' ? 'ssh-keygen is not installed (Debian: apt install openssh-client)' : `ssh-keygen: ${err.message}`)),
    );
    child.on('close', (code) => {
      if (pending) req.onMessage(pending);
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new UsageError('IO', `ssh-keygen -Y sign failed (exit ${code}): nothing was signed`));
    });
    child.stdin.on('error', () => undefined); // a child that exits early is reported by its exit code
    child.stdin.end(req.data);
  });
}
