// countersign's public API: the CLI and any embedding site code call these same functions.
export { canonicalize, canonicalBytes, parseCanonical } from './canonical.js';
export { verifyStrict, isStrongPublicKey, keyId, generateSeed, publicKeyFromSeed, signMessage } from './ed25519.js';
export { PAYLOAD_TYPES, pae, openEnvelope, createEnvelope, serializeEnvelope, type Envelope, type EnvelopeSignature, type OpenedEnvelope } from './envelope.js';
export * from './errors.js';
export { createPolicy, checkPolicy, loadTrustedPolicy, readPolicyDocument, policyEnvelope, type Policy, type Signer, type CheckedPolicy, type TrustedPolicy } from './policy.js';
export { verifyRotation, walkPolicyChain, MAX_CHAIN_LENGTH } from './rotation.js';
export { countQuorum, requireQuorum, describeQuorum, type QuorumResult } from './quorum.js';
export { manifestFromPayload, checkRelease, countFileOps, type Manifest, type FileOp, type ArchiveRef } from './manifest.js';
export { signDocument, parsePartial, serializePartial, type PartialSignature } from './partial.js';
export { verifyBundle, DEFAULT_LIMITS, type BundleInput, type VerifyOptions, type Verified, type Limits } from './verify.js';
export { verifyArchiveStream } from './archive.js';
export { openBundleFile, openArchiveFile, writeBundleFile, type OpenedInput } from './bundle-file.js';
export { buildRelease, scanTree, type ReleaseRequest, type BuiltRelease } from './build.js';
export { computeRisk, RISK_LEVELS, type Risk, type RiskLevel } from './risk.js';
export { compareVersions, parseVersion } from './version.js';
export { checkPath, checkPathSet } from './paths.js';
export { encryptSecretKey, decryptSecretKey, formatPublicKeyFile, parsePublicKeyFile } from './keyfile.js';
export { summarizeDocument } from './summary.js';
