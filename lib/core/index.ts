// countersign's pure core (countersign/core): verification, the documents, the trust store's rules and the
// codecs, with no file system, network or process access (test/boundary.test.ts keeps it so).
export { canonicalize, canonicalBytes, parseCanonical } from './canonical.js';
export { verifyStrict, isStrongPublicKey, keyId, generateSeed, publicKeyFromSeed, signMessage } from './ed25519.js';
export { PAYLOAD_TYPES, pae, openEnvelope, createEnvelope, serializeEnvelope, type Envelope, type EnvelopeSignature, type OpenedEnvelope } from './envelope.js';
export * from './errors.js';
export {
  createPolicy,
  checkPolicy,
  loadTrustedPolicy,
  readPolicyDocument,
  policyEnvelope,
  policyFromPayload,
  policyWarnings,
  type Policy,
  type ProviderMembers,
  type CheckedPolicy,
  type TrustedPolicy,
} from './policy.js';
export {
  providerName,
  roleRing,
  registryRing,
  activationDelay,
  providerOf,
  DEFAULT_ACTIVATION_DELAY,
  MAX_PROVIDER_BYTES,
  type Role,
  type RoleRule,
} from './provider-policy.js';
export { createEnrolment, enrolmentFromPayload, type Enrolment, type CheckedEnrolment } from './enrolment.js';
export { createKeyRevocation, keyRevocationFromPayload, effectiveIndex, type KeyRevocation, type RevokedFrom } from './key-revocation.js';
export { createRevocation, revocationFromPayload, type Revocation } from './revocation.js';
export { verifyRotation, walkPolicyChain, MAX_CHAIN_LENGTH } from './rotation.js';
export { assemblyQuorums, keptSignatures, uncountedProblems, type QuorumSide } from './assembly.js';
export { countQuorum, requireQuorum, describeQuorum, type QuorumResult, type Signer, type KeyRing } from './quorum.js';
export { manifestFromPayload, checkRelease, countFileOps, type Manifest, type FileOp, type ArchiveRef } from './manifest.js';
export { signDocument, toolPartial, parsePartial, serializePartial, type PartialSignature } from './partial-signature.js';
export { SIGNER_KINDS, SSHSIG_NAMESPACES, verifySignerSignature, signerLabel, type SignerKind, type SignatureInfo, type NewSigner } from './signer-kinds.js';
export { parseSignerFile, importSignature } from './signer-files.js';
export { parseSshsig, verifySshsig, parseSshPublicKeyLine, dearmourSshSignature, sshFingerprint, type SshSignature, type SshPublicKey } from './sshsig.js';
export { parseMinisignPublicKey, parseMinisignSignatureFile, parseSignifySignatureFile, verifyMinisign, verifySignify, minisignKeyId } from './minisign.js';
export { verifyBundle, DEFAULT_LIMITS, type BundleInput, type VerifyOptions, type Verified, type Limits } from './verify.js';
export {
  verifyWithStore,
  siteFor,
  describeStore,
  parseInstalledSpec,
  STORE_FORMAT,
  type TrustStore,
  type StoreState,
  type InstalledRelease,
  type InstalledSpec,
  type StoredRevocation,
  type StoreVerifyOptions,
  type UpdateFile,
  type UpdateOutcome,
  type StoreSummary,
} from './trust-state.js';
export { verifyArchiveStream } from './archive-verify.js';
export { computeRisk, RISK_LEVELS, type Risk, type RiskLevel } from './risk.js';
export { compareVersions, parseVersion } from './version.js';
export { checkPath, checkPathSet } from './paths.js';
export { encryptSecretKey, decryptSecretKey, formatPublicKeyFile, parsePublicKeyFile } from './keyfile.js';
export { summarizeDocument } from './summary.js';
export { versionFileCandidates, defaultVersionFile, parseVersionText } from './version-file.js';
