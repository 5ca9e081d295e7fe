// A signer's public key file, in any of the formats a policy lists (lib/core/signer-files.ts tells which from the file).
import { basename } from 'node:path';
import { fromUtf8 } from '../lib/core/bytes.js';
import { KeyError } from '../lib/core/errors.js';
import { parseSignerFile } from '../lib/core/signer-files.js';
import type { NewSigner } from '../lib/core/signer-kinds.js';
import { readDocument } from './documents.js';

/** minisign and signify keys carry no name: they are named after their file. Errors name the file. */
export function readSigner(file: string): NewSigner {
  try {
    return parseSignerFile(fromUtf8(readDocument(file, 'public key file')), basename(file).replace(/\.pub$/, ''));
  } catch (err) {
    if (err instanceof KeyError) throw new KeyError(err.code, `${file}: ${err.message}`);
    throw err;
  }
}
