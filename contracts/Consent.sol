// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IMemberRegistry} from "./IMemberRegistry.sol";

/// @title Consent
/// @notice Patient-controlled consent. A patient is an Ethereum address they alone control; no
///         name or other identifier is ever stored here. A grant gives one member organization
///         access to some data categories for some purposes of use within a time window. Grants
///         and revokes are EIP-712 typed data signed by the patient and relayed by any active
///         member, or sent by the patient directly. Each patient has one nonce sequence shared
///         by grants and revokes, so signatures apply at most once and in the order signed.
///         A grant names the grantee's admission (Registry.admissionOf) the patient consents to:
///         a member removed and admitted again is a new admission, and its old grants no longer
///         permit anything until the patient signs a new one.
/// @dev At most one grant per (patient, grantee); a new grant replaces the previous one.
///      Emergency access is break-glass (logged off chain), never consent.
contract Consent is EIP712 {
    /// Data categories, as bits of a uint16 mask. Sensitive categories (mental health, sexual
    /// and reproductive health, substance use, genetics) have their own bits and are covered
    /// only when named; there is no wildcard.
    uint16 public constant CATEGORY_GENERAL = 1 << 0;
    uint16 public constant CATEGORY_LABS = 1 << 1;
    uint16 public constant CATEGORY_MEDICATIONS = 1 << 2;
    uint16 public constant CATEGORY_IMAGING = 1 << 3;
    uint16 public constant CATEGORY_MENTAL_HEALTH = 1 << 4;
    uint16 public constant CATEGORY_SEXUAL_REPRODUCTIVE = 1 << 5;
    uint16 public constant CATEGORY_SUBSTANCE_USE = 1 << 6;
    uint16 public constant CATEGORY_GENETICS = 1 << 7;
    uint16 public constant ALL_CATEGORIES = (1 << 8) - 1;

    /// Purposes of use (HL7 v3 PurposeOfUse TREAT, HPAYMT, HOPERAT, HRESCH), bits of a uint8 mask.
    uint8 public constant PURPOSE_TREATMENT = 1 << 0;
    uint8 public constant PURPOSE_PAYMENT = 1 << 1;
    uint8 public constant PURPOSE_OPERATIONS = 1 << 2;
    uint8 public constant PURPOSE_RESEARCH = 1 << 3;
    uint8 public constant ALL_PURPOSES = (1 << 4) - 1;

    bytes32 public constant GRANT_TYPEHASH = keccak256(
        "Grant(address patient,address grantee,uint32 granteeAdmission,uint16 categories,uint8 purposes,uint64 validFrom,uint64 expiry,uint256 nonce,uint256 deadline)"
    );
    bytes32 public constant REVOKE_TYPEHASH =
        keccak256("Revoke(address patient,address grantee,uint256 nonce,uint256 deadline)");

    struct Grant {
        /// The grantee's admission (Registry.admissionOf) this grant was given to.
        uint32 granteeAdmission;
        uint16 categories;
        uint8 purposes;
        uint64 validFrom;
        uint64 expiry;
    }

    struct GrantRequest {
        address patient;
        address grantee;
        uint32 granteeAdmission;
        uint16 categories;
        uint8 purposes;
        uint64 validFrom;
        uint64 expiry;
        uint256 nonce;
        uint256 deadline;
    }

    struct RevokeRequest {
        address patient;
        address grantee;
        uint256 nonce;
        uint256 deadline;
    }

    IMemberRegistry public immutable registry;

    mapping(address patient => uint256) public nonces;
    mapping(address patient => mapping(address grantee => Grant)) private _grants;

    error ConsentSignatureExpired(uint256 deadline, uint256 now_);
    error ConsentInvalidSigner(address patient, address recovered);
    error ConsentNonceReplayed(address patient, uint256 nonce, uint256 expected);
    error ConsentNonceOutOfOrder(address patient, uint256 nonce, uint256 expected);
    error ConsentGranteeNotMember(address grantee);
    error ConsentStaleAdmission(address grantee, uint32 signed, uint32 current);
    error ConsentRelayerNotMember(address relayer);
    error ConsentInvalidScope(uint16 categories, uint8 purposes);
    error ConsentInvalidWindow(uint64 validFrom, uint64 expiry);
    error ConsentInvalidPatient(address patient);

    event ConsentGranted(
        address indexed patient,
        address indexed grantee,
        uint32 granteeAdmission,
        uint16 categories,
        uint8 purposes,
        uint64 validFrom,
        uint64 expiry,
        uint256 nonce
    );
    event ConsentRevoked(address indexed patient, address indexed grantee, uint256 nonce);

    constructor(IMemberRegistry registry_) EIP712("medchain Consent", "1") {
        registry = registry_;
    }

    // ----- patient-signed, relayed by a member -----

    /// @notice Record a grant signed by the patient (EIP-712 `Grant`). Relayed by an active member.
    /// @dev Requires: caller is an active member; block.timestamp <= deadline; nonce equals the
    ///      patient's next nonce; the signature recovers to the patient; the grantee is an active
    ///      member and `granteeAdmission` is its current admission (else ConsentStaleAdmission);
    ///      categories/purposes are nonzero and known; validFrom < expiry.
    ///      Emits ConsentGranted unless the identical grant (same admission too) was already stored.
    /// @return changed whether the stored grant changed.
    function grantWithSig(GrantRequest calldata g, bytes calldata signature) external returns (bool changed) {
        if (!registry.isActiveMember(msg.sender)) revert ConsentRelayerNotMember(msg.sender);
        _checkDeadline(g.deadline);
        bytes32 structHash = keccak256(
            abi.encode(
                GRANT_TYPEHASH,
                g.patient,
                g.grantee,
                g.granteeAdmission,
                g.categories,
                g.purposes,
                g.validFrom,
                g.expiry,
                g.nonce,
                g.deadline
            )
        );
        _checkSigner(g.patient, structHash, signature);
        _useNonce(g.patient, g.nonce);
        return _grant(
            g.patient, g.grantee, Grant(g.granteeAdmission, g.categories, g.purposes, g.validFrom, g.expiry), g.nonce
        );
    }

    /// @notice Remove a grant, signed by the patient (EIP-712 `Revoke`). Relayed by an active member.
    /// @dev Requires: caller is an active member; valid deadline, nonce and signature as for grants.
    ///      Takes effect in the same block. Emits ConsentRevoked if a grant existed.
    /// @return changed whether a grant was removed.
    function revokeWithSig(RevokeRequest calldata r, bytes calldata signature) external returns (bool changed) {
        if (!registry.isActiveMember(msg.sender)) revert ConsentRelayerNotMember(msg.sender);
        _checkDeadline(r.deadline);
        bytes32 structHash = keccak256(abi.encode(REVOKE_TYPEHASH, r.patient, r.grantee, r.nonce, r.deadline));
        _checkSigner(r.patient, structHash, signature);
        _useNonce(r.patient, r.nonce);
        return _revoke(r.patient, r.grantee, r.nonce);
    }

    // ----- patient sends directly -----

    /// @notice The patient (msg.sender) grants directly, consuming their next nonce.
    /// @dev Same scope, window, grantee and admission checks as grantWithSig: `granteeAdmission`
    ///      must be the grantee's current admission. Emits ConsentGranted if changed.
    function grant(
        address grantee,
        uint32 granteeAdmission,
        uint16 categories,
        uint8 purposes,
        uint64 validFrom,
        uint64 expiry
    ) external returns (bool changed) {
        uint256 nonce = nonces[msg.sender]++;
        return _grant(msg.sender, grantee, Grant(granteeAdmission, categories, purposes, validFrom, expiry), nonce);
    }

    /// @notice The patient (msg.sender) revokes directly, consuming their next nonce.
    function revoke(address grantee) external returns (bool changed) {
        uint256 nonce = nonces[msg.sender]++;
        return _revoke(msg.sender, grantee, nonce);
    }

    // ----- views -----

    /// @notice Whether `grantee` may access `patient`'s data of `category` for `purpose` at `atTime`.
    /// @dev `category` and `purpose` are single bits (a mask asks for every bit in it). False when
    ///      the grantee is no longer an active member, when it was re-admitted since the grant
    ///      (its current admission is not the grant's), when no grant is stored, or outside
    ///      [validFrom, expiry).
    function isPermitted(address patient, address grantee, uint16 category, uint8 purpose, uint64 atTime)
        external
        view
        returns (bool)
    {
        if (category == 0 || purpose == 0) return false;
        Grant storage g = _grants[patient][grantee];
        if (g.categories & category != category || g.purposes & purpose != purpose) return false;
        if (atTime < g.validFrom || atTime >= g.expiry) return false;
        return registry.isActiveMember(grantee) && registry.admissionOf(grantee) == g.granteeAdmission;
    }

    /// @notice The grant stored for (patient, grantee), with the grantee admission it names; all zero
    ///         when none. A stored grant permits only while that admission is the grantee's current one.
    function getGrant(address patient, address grantee) external view returns (Grant memory) {
        return _grants[patient][grantee];
    }

    /// @notice The EIP-712 domain separator, for clients that build digests themselves.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ----- internal -----

    function _grant(address patient, address grantee, Grant memory g, uint256 nonce) private returns (bool) {
        if (patient == address(0)) revert ConsentInvalidPatient(patient);
        if (!registry.isActiveMember(grantee)) revert ConsentGranteeNotMember(grantee);
        uint32 current = registry.admissionOf(grantee);
        if (g.granteeAdmission != current) revert ConsentStaleAdmission(grantee, g.granteeAdmission, current);
        if (
            g.categories == 0 || g.categories & ~ALL_CATEGORIES != 0 || g.purposes == 0
                || g.purposes & ~ALL_PURPOSES != 0
        ) revert ConsentInvalidScope(g.categories, g.purposes);
        if (g.validFrom >= g.expiry) revert ConsentInvalidWindow(g.validFrom, g.expiry);
        Grant storage cur = _grants[patient][grantee];
        if (
            cur.granteeAdmission == g.granteeAdmission && cur.categories == g.categories
                && cur.purposes == g.purposes && cur.validFrom == g.validFrom && cur.expiry == g.expiry
        ) return false;
        _grants[patient][grantee] = g;
        emit ConsentGranted(
            patient, grantee, g.granteeAdmission, g.categories, g.purposes, g.validFrom, g.expiry, nonce
        );
        return true;
    }

    function _revoke(address patient, address grantee, uint256 nonce) private returns (bool) {
        if (_grants[patient][grantee].categories == 0) return false;
        delete _grants[patient][grantee];
        emit ConsentRevoked(patient, grantee, nonce);
        return true;
    }

    function _checkDeadline(uint256 deadline) private view {
        if (block.timestamp > deadline) revert ConsentSignatureExpired(deadline, block.timestamp);
    }

    function _checkSigner(address patient, bytes32 structHash, bytes calldata signature) private view {
        if (patient == address(0)) revert ConsentInvalidPatient(patient);
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(_hashTypedDataV4(structHash), signature);
        if (err != ECDSA.RecoverError.NoError || recovered != patient) {
            revert ConsentInvalidSigner(patient, recovered);
        }
    }

    function _useNonce(address patient, uint256 nonce) private {
        uint256 expected = nonces[patient];
        if (nonce < expected) revert ConsentNonceReplayed(patient, nonce, expected);
        if (nonce > expected) revert ConsentNonceOutOfOrder(patient, nonce, expected);
        nonces[patient] = expected + 1;
    }
}
