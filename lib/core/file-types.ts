// What a key file or a trust store says it is: on their own, so telling a file's kind (cli/documents.ts)
// loads neither the key file's ciphers nor the trust store's state code.
export const PUBLIC_KEY_FILE_TYPE = 'countersign-public-key';
export const SECRET_KEY_FILE_TYPE = 'countersign-secret-key';
export const STORE_FORMAT = 1;
