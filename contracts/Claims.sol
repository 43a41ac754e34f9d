// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IMemberRegistry} from "./IMemberRegistry.sol";

/// @title Claims
/// @notice Insurance claims between consortium members, with nothing identifying or clinical on
///         chain. A provider anchors many claims in one transaction as a Merkle root (leaves as
///         in OpenZeppelin's StandardMerkleTree: keccak256(keccak256(abi.encode(ClaimLeaf))))
///         together with the keyed commitments of their lines (HMAC under the provider's own
///         line-commitment key, see src/claims/lineCommitment.ts and lineKey.ts). A provider pins
///         the hash of that key here once (`registerLineKey`) before its first batch, so every
///         payer it bills can check it was sent the one key the provider commits under, for all
///         payers. A line commitment held under two payers is the same service billed twice: the
///         contract flags it at submission and answers `heldByOtherPayer` to any payer, without
///         either payer seeing the other's claim.
///         A claim gets its own record when the payer first decides it, proving its leaf in a
///         batch; from then on it follows the state machine below. Amounts are integer cents.
/// @dev States and who moves them (every other move reverts ClaimsIllegalTransition):
///        Submitted (in a batch, no record yet) -> Pended | Approved | Denied   payer (decide)
///        Pended    -> Approved | Denied                                        payer (decide)
///        Approved  -> Paid                                                     payer (markPaid)
///        Denied    -> Appealed                                                 provider (appeal)
///        Appealed  -> Approved | Denied                                        payer (decide)
///        Pended | Approved | Paid -> Disputed                  patient, by EIP-712 signature
///        Disputed  -> Approved | Denied                                        payer (decide)
///      The patient is on chain only as `patientCommitment = keccak256(abi.encode(patient, salt))`
///      with a 32-byte random salt that only the provider, payer and patient hold (it is in the
///      patient's ExplanationOfBenefit); a dispute proves the signer is that patient by revealing
///      the salt. A payer's decision is Pended only as its first; it never marks a claim Disputed
///      or Paid through `decide`.
contract Claims is EIP712 {
    enum State {
        Submitted,
        Pended,
        Approved,
        Denied,
        Disputed,
        Paid,
        Appealed
    }

    /// The Merkle leaf of one claim.
    struct ClaimLeaf {
        /// A random 32-byte id the provider gives the claim (never the FHIR id or any identifier).
        bytes32 claimId;
        address provider;
        address payer;
        /// keccak256(abi.encode(patient address, salt)).
        bytes32 patientCommitment;
        /// keccak256(abi.encode(bytes32[] line commitments of the claim, in sequence order)).
        bytes32 linesHash;
        /// Billed total in cents.
        uint128 billed;
    }

    struct Batch {
        address provider;
        address payer;
        uint32 claimCount;
        uint64 submittedAt;
    }

    struct ClaimRecord {
        bytes32 patientCommitment;
        address provider;
        State state;
        uint16 fraudFlags;
        uint32 disputes;
        address payer;
        uint64 updatedAt;
        uint128 billed;
        uint128 approved;
        /// The payer's anchored rule set (edit tables) the latest decision applied.
        bytes32 ruleSet;
    }

    /// One claim's first decision in decideFirstBatch.
    struct FirstDecision {
        ClaimLeaf leaf;
        bytes32[] proof;
        State to;
        uint16 fraudFlags;
        uint128 approved;
    }

    /// Where a line commitment was first seen, and whether another payer holds it too.
    struct LineMark {
        address firstPayer;
        bool otherPayers;
    }

    uint16 public constant ROLE_INSURER = 1 << 3;
    /// Fraud flag bits, the same as src/claims/model.ts FRAUD.
    uint16 public constant FLAG_DUPLICATE = 1 << 0;
    uint16 public constant FLAG_DUPLICATE_ACROSS_PAYERS = 1 << 1;
    uint16 public constant FLAG_UNBUNDLING = 1 << 2;
    uint16 public constant FLAG_UNITS_OVER_LIMIT = 1 << 3;
    uint16 public constant FLAG_NO_EVIDENCE_OF_SERVICE = 1 << 4;
    uint16 public constant ALL_FLAGS = (1 << 5) - 1;

    bytes32 public constant DISPUTE_TYPEHASH =
        keccak256("Dispute(bytes32 claimId,uint32 round,uint256 deadline)");

    IMemberRegistry public immutable registry;

    mapping(bytes32 root => Batch) private _batches;
    mapping(bytes32 claimId => ClaimRecord) private _claims;
    /// Line marks per submitting provider: a commitment counts only in its own provider's batches,
    /// so no member can mark another provider's service as billed elsewhere before it is billed.
    mapping(address provider => mapping(bytes32 commitment => LineMark)) private _lines;
    mapping(address payer => mapping(bytes32 ruleSet => uint64 anchoredAt)) private _ruleSets;
    /// The hash of each provider's line-commitment key (src/claims/lineKey.ts lineKeyHash), final once set.
    mapping(address provider => bytes32 keyHash) private _lineKeys;

    error ClaimsNotMember(address account);
    error ClaimsNotInsurer(address account);
    error ClaimsEmptyBatch();
    error ClaimsPayerIsProvider(address account);
    error ClaimsBatchExists(bytes32 root);
    error ClaimsUnknownBatch(bytes32 root);
    error ClaimsNotInBatch(bytes32 claimId, bytes32 root);
    error ClaimsLeafMismatch(bytes32 claimId);
    error ClaimsAlreadyRecorded(bytes32 claimId);
    error ClaimsUnknownClaim(bytes32 claimId);
    error ClaimsNotPayer(bytes32 claimId, address account);
    error ClaimsNotProvider(bytes32 claimId, address account);
    error ClaimsIllegalTransition(bytes32 claimId, State from, State to);
    error ClaimsUnknownFlags(uint16 flags);
    error ClaimsAmountTooHigh(uint128 approved, uint128 billed);
    error ClaimsRuleSetNotAnchored(address payer, bytes32 ruleSet);
    error ClaimsSignatureExpired(uint256 deadline, uint256 now_);
    error ClaimsNotPatient(bytes32 claimId, address signer);
    error ClaimsLineKeyAlreadySet(address provider, bytes32 registered);
    error ClaimsNoLineKey(address provider);
    error ClaimsEmptyLineKey();

    event BatchSubmitted(
        bytes32 indexed root, address indexed provider, address indexed payer, uint32 claimCount, uint32 lineCount
    );
    /// A line of a batch is already held under another payer (index into the batch's lines).
    event LineHeldByOtherPayer(bytes32 indexed root, bytes32 indexed commitment, uint32 lineIndex);
    event RuleSetAnchored(address indexed payer, bytes32 indexed ruleSet);
    /// A provider pinned the hash of its line-commitment key (once; it never changes).
    event LineKeyRegistered(address indexed provider, bytes32 keyHash);
    /// A claim of batch `root` got its record (the payer's first decision).
    event ClaimRecorded(bytes32 indexed claimId, bytes32 indexed root);
    event ClaimStateChanged(bytes32 indexed claimId, State from, State to, uint16 fraudFlags, uint128 approved);

    constructor(IMemberRegistry registry_) EIP712("medchain Claims", "1") {
        registry = registry_;
    }

    // ----- provider -----

    /// @notice Pin the hash of the caller's line-commitment key, once: payers check the key a
    ///         provider sends them against it, so the provider commits every payer's lines under
    ///         one key and a service billed to two payers is seen as such.
    /// @dev Requires: caller is an active member; keyHash nonzero. Setting the same hash again is
    ///      a no-op returning false (outbox retries); another hash reverts ClaimsLineKeyAlreadySet
    ///      (the key never changes: commitments made under it must stay comparable). Emits
    ///      LineKeyRegistered when stored.
    /// @return stored whether the hash was new.
    function registerLineKey(bytes32 keyHash) external returns (bool stored) {
        if (!registry.isActiveMember(msg.sender)) revert ClaimsNotMember(msg.sender);
        if (keyHash == bytes32(0)) revert ClaimsEmptyLineKey();
        bytes32 current = _lineKeys[msg.sender];
        if (current == keyHash) return false;
        if (current != bytes32(0)) revert ClaimsLineKeyAlreadySet(msg.sender, current);
        _lineKeys[msg.sender] = keyHash;
        emit LineKeyRegistered(msg.sender, keyHash);
        return true;
    }

    /// @notice Anchor a batch of claims (a Merkle root of ClaimLeaf) and the keyed commitments of
    ///         all their lines, addressed to one payer.
    /// @dev Requires: caller is an active member with a registered line key (else
    ///      ClaimsNoLineKey); `payer` is another active member with the
    ///      insurer role; claimCount > 0 and root nonzero. Resubmitting a root the caller already anchored to the same payer
    ///      is a no-op returning false (outbox retries); another root clash reverts
    ///      ClaimsBatchExists. Each line commitment is marked for this payer under the caller (the
    ///      provider); one the same provider already sent another payer emits LineHeldByOtherPayer. Emits BatchSubmitted.
    /// @return stored whether the batch was new.
    function submitBatch(address payer, bytes32 root, uint32 claimCount, bytes32[] calldata lineCommitments)
        external
        returns (bool stored)
    {
        if (!registry.isActiveMember(msg.sender)) revert ClaimsNotMember(msg.sender);
        if (_lineKeys[msg.sender] == bytes32(0)) revert ClaimsNoLineKey(msg.sender);
        _requireInsurer(payer);
        if (payer == msg.sender) revert ClaimsPayerIsProvider(payer);
        if (claimCount == 0 || root == bytes32(0)) revert ClaimsEmptyBatch();
        Batch storage b = _batches[root];
        if (b.provider != address(0)) {
            if (b.provider == msg.sender && b.payer == payer && b.claimCount == claimCount) return false;
            revert ClaimsBatchExists(root);
        }
        _batches[root] = Batch(msg.sender, payer, claimCount, uint64(block.timestamp));
        for (uint256 i = 0; i < lineCommitments.length; i++) {
            bytes32 c = lineCommitments[i];
            LineMark storage m = _lines[msg.sender][c];
            if (m.firstPayer == address(0)) {
                m.firstPayer = payer;
            } else if (m.firstPayer != payer) {
                if (!m.otherPayers) m.otherPayers = true;
                emit LineHeldByOtherPayer(root, c, uint32(i));
            }
        }
        emit BatchSubmitted(root, msg.sender, payer, claimCount, uint32(lineCommitments.length));
        return true;
    }

    /// @notice The provider appeals a denied claim.
    /// @dev Requires: caller is the claim's provider; state Denied. Emits ClaimStateChanged.
    function appeal(bytes32 claimId) external {
        ClaimRecord storage c = _record(claimId);
        if (msg.sender != c.provider) revert ClaimsNotProvider(claimId, msg.sender);
        _move(claimId, c, State.Appealed);
        emit ClaimStateChanged(claimId, State.Denied, State.Appealed, c.fraudFlags, c.approved);
    }

    // ----- payer -----

    /// @notice Anchor the hash of the rule set (edit tables) the caller adjudicates with.
    /// @dev Requires: caller is an active insurer. `ruleSet` is e.g. keccak256 of the tables'
    ///      SHA-256 hashes. Idempotent: returns false if already anchored; emits RuleSetAnchored.
    function anchorRuleSet(bytes32 ruleSet) external returns (bool stored) {
        _requireInsurer(msg.sender);
        if (_ruleSets[msg.sender][ruleSet] != 0) return false;
        _ruleSets[msg.sender][ruleSet] = uint64(block.timestamp);
        emit RuleSetAnchored(msg.sender, ruleSet);
        return true;
    }

    /// @notice The payer's first decision on a claim of a batch: proves the leaf and records it.
    /// @dev Requires: the batch exists and names the caller as payer and the leaf's provider;
    ///      `proof` proves the leaf in the batch root; the claim has no record yet; `to` is Pended,
    ///      Approved or Denied; flags are known bits; approved <= billed (0 unless Approved);
    ///      `ruleSet` was anchored by the caller. Emits ClaimRecorded and ClaimStateChanged.
    function decideFirst(
        bytes32 root,
        ClaimLeaf calldata leaf,
        bytes32[] calldata proof,
        State to,
        uint16 fraudFlags,
        uint128 approved,
        bytes32 ruleSet
    ) external {
        Batch storage b = _batches[root];
        if (b.provider == address(0)) revert ClaimsUnknownBatch(root);
        _decideFirst(root, b, leaf, proof, to, fraudFlags, approved, ruleSet);
    }

    /// @notice First decisions on many claims of one batch in one transaction, under one rule set.
    /// @dev The same requirements per claim as decideFirst; any failure reverts them all.
    function decideFirstBatch(bytes32 root, FirstDecision[] calldata decisions, bytes32 ruleSet) external {
        Batch storage b = _batches[root];
        if (b.provider == address(0)) revert ClaimsUnknownBatch(root);
        for (uint256 i = 0; i < decisions.length; i++) {
            FirstDecision calldata d = decisions[i];
            _decideFirst(root, b, d.leaf, d.proof, d.to, d.fraudFlags, d.approved, ruleSet);
        }
    }

    /// @notice A later decision: on a Pended, Appealed or Disputed claim.
    /// @dev Requires: caller is the claim's payer; a legal transition (to Approved or Denied);
    ///      the same checks of flags, amount and rule set as decideFirst. Emits ClaimStateChanged.
    function decide(bytes32 claimId, State to, uint16 fraudFlags, uint128 approved, bytes32 ruleSet) external {
        ClaimRecord storage c = _record(claimId);
        if (msg.sender != c.payer) revert ClaimsNotPayer(claimId, msg.sender);
        _decide(claimId, c, to, fraudFlags, approved, ruleSet);
    }

    /// @notice The payer records that an approved claim was paid (its approved amount).
    /// @dev Requires: caller is the claim's payer; state Approved. Emits ClaimStateChanged.
    function markPaid(bytes32 claimId) external {
        ClaimRecord storage c = _record(claimId);
        if (msg.sender != c.payer) revert ClaimsNotPayer(claimId, msg.sender);
        _move(claimId, c, State.Paid);
        emit ClaimStateChanged(claimId, State.Approved, State.Paid, c.fraudFlags, c.approved);
    }

    // ----- patient -----

    /// @notice The patient disputes a claim billed in their name ("I was not seen that day"),
    ///         with an EIP-712 `Dispute` signature; anyone may relay it.
    /// @dev Requires: block.timestamp <= deadline; `round` equals the claim's dispute count (so a
    ///      signature disputes once); keccak256(abi.encode(signer, salt)) is the claim's patient
    ///      commitment; state Pended, Approved or Paid. Emits ClaimStateChanged.
    function dispute(bytes32 claimId, uint32 round, uint256 deadline, bytes32 salt, bytes calldata signature)
        external
    {
        if (block.timestamp > deadline) revert ClaimsSignatureExpired(deadline, block.timestamp);
        ClaimRecord storage c = _record(claimId);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(DISPUTE_TYPEHASH, claimId, round, deadline)));
        address signer = ECDSA.recover(digest, signature);
        if (round != c.disputes || keccak256(abi.encode(signer, salt)) != c.patientCommitment) {
            revert ClaimsNotPatient(claimId, signer);
        }
        State from = c.state;
        _move(claimId, c, State.Disputed);
        c.disputes += 1;
        emit ClaimStateChanged(claimId, from, State.Disputed, c.fraudFlags, c.approved);
    }

    // ----- views -----

    /// @notice The OpenZeppelin StandardMerkleTree leaf hash of `leaf`.
    function leafHash(ClaimLeaf calldata leaf) public pure returns (bytes32) {
        return keccak256(
            bytes.concat(
                keccak256(
                    abi.encode(
                        leaf.claimId, leaf.provider, leaf.payer, leaf.patientCommitment, leaf.linesHash, leaf.billed
                    )
                )
            )
        );
    }

    /// @notice Whether a payer other than `payer` holds line commitment `commitment` from `provider`'s batches.
    function heldByOtherPayer(address provider, bytes32 commitment, address payer) external view returns (bool) {
        LineMark storage m = _lines[provider][commitment];
        return m.firstPayer != address(0) && (m.firstPayer != payer || m.otherPayers);
    }

    /// @notice Whether a batch of `provider` committed line `commitment` (a payer checks its claim's lines were).
    function isCommitted(address provider, bytes32 commitment) external view returns (bool) {
        return _lines[provider][commitment].firstPayer != address(0);
    }

    /// @notice The hash of `provider`'s line-commitment key (zero when it registered none).
    function lineKeyOf(address provider) external view returns (bytes32) {
        return _lineKeys[provider];
    }

    /// @notice The batch anchored under `root` (all zero when none).
    function batchOf(bytes32 root) external view returns (Batch memory) {
        return _batches[root];
    }

    /// @notice The record of `claimId` (all zero, state Submitted, before the payer's first decision).
    function claimOf(bytes32 claimId) external view returns (ClaimRecord memory) {
        return _claims[claimId];
    }

    /// @notice When `payer` anchored `ruleSet` (seconds; 0 when it did not).
    function ruleSetAnchoredAt(address payer, bytes32 ruleSet) external view returns (uint64) {
        return _ruleSets[payer][ruleSet];
    }

    // ----- internal -----

    function _requireInsurer(address account) private view {
        if (!registry.isActiveMember(account)) revert ClaimsNotMember(account);
        if (registry.rolesOf(account) & ROLE_INSURER == 0) revert ClaimsNotInsurer(account);
    }

    function _record(bytes32 claimId) private view returns (ClaimRecord storage c) {
        c = _claims[claimId];
        if (c.provider == address(0)) revert ClaimsUnknownClaim(claimId);
    }

    function _decideFirst(
        bytes32 root,
        Batch storage b,
        ClaimLeaf calldata leaf,
        bytes32[] calldata proof,
        State to,
        uint16 fraudFlags,
        uint128 approved,
        bytes32 ruleSet
    ) private {
        if (msg.sender != b.payer || leaf.payer != b.payer) revert ClaimsNotPayer(leaf.claimId, msg.sender);
        if (leaf.provider != b.provider) revert ClaimsLeafMismatch(leaf.claimId);
        if (!MerkleProof.verifyCalldata(proof, root, leafHash(leaf))) revert ClaimsNotInBatch(leaf.claimId, root);
        ClaimRecord storage c = _claims[leaf.claimId];
        if (c.provider != address(0)) revert ClaimsAlreadyRecorded(leaf.claimId);
        c.patientCommitment = leaf.patientCommitment;
        c.provider = leaf.provider;
        c.payer = leaf.payer;
        c.billed = leaf.billed;
        emit ClaimRecorded(leaf.claimId, root);
        _decide(leaf.claimId, c, to, fraudFlags, approved, ruleSet);
    }

    function _decide(
        bytes32 claimId,
        ClaimRecord storage c,
        State to,
        uint16 fraudFlags,
        uint128 approved,
        bytes32 ruleSet
    ) private {
        if (to != State.Pended && to != State.Approved && to != State.Denied) {
            revert ClaimsIllegalTransition(claimId, c.state, to);
        }
        if (fraudFlags & ~ALL_FLAGS != 0) revert ClaimsUnknownFlags(fraudFlags);
        if (approved > c.billed || (to != State.Approved && approved != 0)) {
            revert ClaimsAmountTooHigh(approved, to == State.Approved ? c.billed : 0);
        }
        if (_ruleSets[msg.sender][ruleSet] == 0) revert ClaimsRuleSetNotAnchored(msg.sender, ruleSet);
        State from = c.state;
        _move(claimId, c, to);
        c.fraudFlags |= fraudFlags;
        c.approved = approved;
        c.ruleSet = ruleSet;
        emit ClaimStateChanged(claimId, from, to, c.fraudFlags, approved);
    }

    /// The one transition table; reverts ClaimsIllegalTransition on anything it does not list.
    function _move(bytes32 claimId, ClaimRecord storage c, State to) private {
        State from = c.state;
        bool ok;
        if (from == State.Submitted) ok = to == State.Pended || to == State.Approved || to == State.Denied;
        else if (from == State.Pended || from == State.Appealed || from == State.Disputed) {
            ok = to == State.Approved || to == State.Denied || (from == State.Pended && to == State.Disputed);
        } else if (from == State.Approved) {
            ok = to == State.Paid || to == State.Disputed;
        } else if (from == State.Denied) {
            ok = to == State.Appealed;
        } else if (from == State.Paid) {
            ok = to == State.Disputed;
        }
        if (!ok) revert ClaimsIllegalTransition(claimId, from, to);
        c.state = to;
        c.updatedAt = uint64(block.timestamp);
    }
}
