// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IMemberRegistry} from "./IMemberRegistry.sol";

/// @title DrugLedger
/// @notice Serialised drug units from commissioning to dispensing, without a serial or lot in the
///         clear: a GTIN directory (which manufacturer answers for which GS1 company prefix or
///         GTIN), and per unit a keyed commitment (HMAC of GTIN + serial, computed off chain), its
///         current custodian and its status. A commissioning run is one Merkle root over its unit
///         commitments (one transaction for thousands of units); a unit gets its own storage slot
///         only when it leaves its batch's path (shipped alone, dispensed, quarantined), proving
///         its membership with a Merkle proof once. Lots are keyed commitments too; a lot recall
///         blocks dispensing of every unit of the lot at once. Each change carries the hash of
///         its EPCIS event (kept off chain) so the event can later be proven.
/// @dev Leaves follow OpenZeppelin's StandardMerkleTree: keccak256(bytes.concat(keccak256(abi.encode(unit)))),
///      pairs hashed sorted (MerkleProof.verify). The verification service of a GTIN's responder is
///      its Registry endpoint; this contract names the responder.
contract DrugLedger {
    /// Status of a unit. `None` only for units not (yet) seen; a unit in its batch is Active.
    enum Status {
        None,
        Active,
        Dispensed,
        Recalled,
        Suspect,
        Illegitimate,
        Destroyed
    }

    struct Batch {
        address manufacturer;
        uint32 count;
        uint64 gtin;
        address custodian;
        uint64 commissionedAt;
        bytes32 root;
        bytes32 lot;
    }

    /// A unit that left its batch's path: its own custodian and status (one storage slot).
    struct Unit {
        address custodian;
        Status status;
        /// Batch number + 1 (0: no own record yet).
        uint32 batchPlusOne;
    }

    /// A unit named in a call: its commitment, its batch and (until it has its own record) its proof.
    struct UnitRef {
        bytes32 id;
        uint32 batch;
        bytes32[] proof;
    }

    /// Organization roles of the Registry (Registry.sol ROLE_*).
    uint16 internal constant ROLE_HOSPITAL = 1 << 0;
    uint16 internal constant ROLE_PHARMACY = 1 << 4;
    uint16 internal constant ROLE_MANUFACTURER = 1 << 5;
    uint16 internal constant ROLE_REGULATOR = 1 << 7;
    uint8 internal constant MIN_PREFIX_DIGITS = 6;
    uint8 internal constant MAX_PREFIX_DIGITS = 12;
    uint64 internal constant GTIN14_LIMIT = 1e14;

    IMemberRegistry public immutable registry;

    /// keccak256(digits, value) of a company prefix (6-12 digits) or a whole GTIN-14 (14) => owner.
    mapping(bytes32 entry => address owner) private _directory;
    mapping(bytes32 lot => address manufacturer) private _lotOwner;
    mapping(bytes32 lot => bool recalled) private _lotRecalled;
    mapping(bytes32 unit => Unit) private _units;
    Batch[] private _batches;

    error DrugLedgerNotMember(address account);
    error DrugLedgerNotAllowed(address account, Status to);
    error DrugLedgerNotManufacturer(address account);
    error DrugLedgerBadPrefix(uint64 prefix, uint8 digits);
    error DrugLedgerBadGtin(uint64 gtin);
    error DrugLedgerPrefixTaken(uint64 prefix, uint8 digits, address owner);
    error DrugLedgerNotGtinOwner(uint64 gtin, address account);
    error DrugLedgerEmptyBatch();
    error DrugLedgerLotOfAnotherManufacturer(bytes32 lot, address owner);
    error DrugLedgerNoSuchBatch(uint32 batch);
    error DrugLedgerNotInBatch(bytes32 unit, uint32 batch);
    error DrugLedgerNotCustodian(bytes32 unit, address custodian, address account);
    error DrugLedgerBatchNotCustodian(uint32 batch, address custodian, address account);
    error DrugLedgerInvalidTransition(bytes32 unit, Status from, Status to);
    error DrugLedgerLotRecalled(bytes32 unit, bytes32 lot);
    error DrugLedgerNotTransferable(bytes32 unit, Status status);
    error DrugLedgerRecipientNotMember(address to);
    error DrugLedgerUnknownLot(bytes32 lot);

    event PrefixClaimed(address indexed owner, uint64 prefix, uint8 digits);
    event BatchCommissioned(
        uint32 indexed batch, address indexed manufacturer, uint64 indexed gtin, bytes32 root, uint32 count, bytes32 lot, bytes32 eventHash
    );
    event BatchTransferred(uint32 indexed batch, address indexed from, address indexed to, bytes32 eventHash);
    event UnitsTransferred(address indexed from, address indexed to, uint256 count, bytes32 eventHash);
    event UnitsStatusChanged(address indexed by, Status indexed status, uint256 count, bytes32 eventHash);
    event LotRecalled(bytes32 indexed lot, address indexed manufacturer, bytes32 eventHash);

    constructor(IMemberRegistry registry_) {
        registry = registry_;
    }

    modifier onlyMember() {
        if (!registry.isActiveMember(msg.sender)) revert DrugLedgerNotMember(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- GTIN directory

    /// @notice Claim a GS1 company prefix (or, with digits = 14, one whole GTIN-14) as the caller's:
    ///         the caller becomes the verification responder for the GTINs under it.
    /// @dev Requires: caller is an active member with the manufacturer role; 6 <= digits <= 12 (or
    ///      14) and prefix < 10**digits; no other member holds that entry or a shorter prefix of it
    ///      (reverts DrugLedgerPrefixTaken naming the holder). Claiming one's own entry again is a
    ///      no-op returning false. Emits PrefixClaimed when stored. First come, first served: GS1
    ///      allocates prefixes; a Registry vote on claims is not built (docs/supply-chain.md).
    function claimPrefix(uint64 prefix, uint8 digits) external onlyMember returns (bool stored) {
        if (registry.rolesOf(msg.sender) & ROLE_MANUFACTURER == 0) revert DrugLedgerNotManufacturer(msg.sender);
        bool ok = digits == 14 || (digits >= MIN_PREFIX_DIGITS && digits <= MAX_PREFIX_DIGITS);
        if (!ok || prefix >= 10 ** uint64(digits)) revert DrugLedgerBadPrefix(prefix, digits);
        bytes32 key = _entry(prefix, digits);
        address owner = _directory[key];
        if (owner == msg.sender) return false;
        if (owner != address(0)) revert DrugLedgerPrefixTaken(prefix, digits, owner);
        // No claim inside another member's prefix: the longest match would hand it that range.
        uint8 top = digits == 14 ? MAX_PREFIX_DIGITS : digits - 1;
        for (uint8 d = MIN_PREFIX_DIGITS; d <= top; d++) {
            uint64 outer = digits == 14 ? (prefix / uint64(10) ** (13 - d)) % uint64(10) ** d : prefix / uint64(10) ** (digits - d);
            address holder = _directory[_entry(outer, d)];
            if (holder != address(0) && holder != msg.sender) revert DrugLedgerPrefixTaken(outer, d, holder);
        }
        _directory[key] = msg.sender;
        emit PrefixClaimed(msg.sender, prefix, digits);
        return true;
    }

    /// @notice The member that answers verification requests for `gtin` (a GTIN-14 as a number):
    ///         the owner of the GTIN itself, else of its longest claimed company prefix; zero if none.
    /// @dev The company prefix is read after the indicator digit (GS1 General Specifications §2.1.2).
    function responderFor(uint64 gtin) public view returns (address) {
        if (gtin >= GTIN14_LIMIT) revert DrugLedgerBadGtin(gtin);
        address owner = _directory[_entry(gtin, 14)];
        if (owner != address(0)) return owner;
        for (uint8 digits = MAX_PREFIX_DIGITS; digits >= MIN_PREFIX_DIGITS; digits--) {
            uint64 prefix = (gtin / uint64(10) ** (13 - digits)) % uint64(10) ** digits;
            owner = _directory[_entry(prefix, digits)];
            if (owner != address(0)) return owner;
        }
        return address(0);
    }

    // ---------------------------------------------------------------- commissioning

    /// @notice Commission a run of `count` units of one GTIN and lot: one Merkle root over their
    ///         commitments. The caller is the first custodian of every unit.
    /// @dev Requires: caller is an active member and the responder for `gtin`; root nonzero;
    ///      count > 0; the lot commitment, if used before, belongs to the caller. Emits
    ///      BatchCommissioned. Returns the batch number.
    function commission(uint64 gtin, bytes32 lot, bytes32 root, uint32 count, bytes32 eventHash)
        external
        onlyMember
        returns (uint32 batch)
    {
        if (responderFor(gtin) != msg.sender) revert DrugLedgerNotGtinOwner(gtin, msg.sender);
        if (root == bytes32(0) || count == 0) revert DrugLedgerEmptyBatch();
        address lotOwner = _lotOwner[lot];
        if (lotOwner == address(0)) _lotOwner[lot] = msg.sender;
        else if (lotOwner != msg.sender) revert DrugLedgerLotOfAnotherManufacturer(lot, lotOwner);
        batch = uint32(_batches.length);
        _batches.push(Batch(msg.sender, count, gtin, msg.sender, uint64(block.timestamp), root, lot));
        emit BatchCommissioned(batch, msg.sender, gtin, root, count, lot, eventHash);
    }

    // ---------------------------------------------------------------- custody

    /// @notice Hand a whole batch (every unit of it still on the batch's path) to member `to`.
    /// @dev Requires: caller is the batch's custodian; `to` is an active member. Units with their
    ///      own record stay where they are. Emits BatchTransferred.
    function transferBatch(uint32 batch, address to, bytes32 eventHash) external onlyMember {
        Batch storage b = _batch(batch);
        if (b.custodian != msg.sender) revert DrugLedgerBatchNotCustodian(batch, b.custodian, msg.sender);
        if (!registry.isActiveMember(to)) revert DrugLedgerRecipientNotMember(to);
        b.custodian = to;
        emit BatchTransferred(batch, msg.sender, to, eventHash);
    }

    /// @notice Hand units to member `to` (a shipment that does not follow whole batches).
    /// @dev Requires: caller is the custodian of every unit; each unit is Active or of a recalled
    ///      lot (a recall return); `to` is an active member. Emits UnitsTransferred once.
    function transferUnits(UnitRef[] calldata units, address to, bytes32 eventHash) external onlyMember {
        if (!registry.isActiveMember(to)) revert DrugLedgerRecipientNotMember(to);
        for (uint256 i = 0; i < units.length; i++) {
            (Unit storage u,, Status status) = _touch(units[i]);
            if (u.custodian != msg.sender) revert DrugLedgerNotCustodian(units[i].id, u.custodian, msg.sender);
            if (status != Status.Active && status != Status.Recalled) {
                revert DrugLedgerNotTransferable(units[i].id, status);
            }
            u.custodian = to;
        }
        emit UnitsTransferred(msg.sender, to, units.length, eventHash);
    }

    // ---------------------------------------------------------------- status

    /// @notice Move units to status `to`: Dispensed (by a pharmacy or hospital custodian, not of a
    ///         recalled lot), Destroyed (by the custodian), Suspect (custodian, GTIN owner or
    ///         regulator), Illegitimate (GTIN owner or regulator), Recalled (GTIN owner, one unit),
    ///         Active (clears Suspect; GTIN owner or regulator).
    /// @dev Every other change reverts DrugLedgerInvalidTransition: Dispensed and Destroyed are
    ///      final, Illegitimate may only be destroyed. Emits UnitsStatusChanged once.
    function setStatus(UnitRef[] calldata units, Status to, bytes32 eventHash) external onlyMember {
        uint16 roles = registry.rolesOf(msg.sender);
        bool regulator = roles & ROLE_REGULATOR != 0;
        for (uint256 i = 0; i < units.length; i++) {
            UnitRef calldata ref = units[i];
            // The batch is the unit's own (from its record), never the one the caller names.
            (Unit storage u, Batch storage b, Status from) = _touch(ref);
            bool custodian = u.custodian == msg.sender;
            bool owner = b.manufacturer == msg.sender;
            if (!_allowedFrom(from, to)) {
                if (to == Status.Dispensed && from == Status.Recalled && _lotRecalled[b.lot]) {
                    revert DrugLedgerLotRecalled(ref.id, b.lot);
                }
                revert DrugLedgerInvalidTransition(ref.id, from, to);
            }
            bool allowed;
            if (to == Status.Dispensed) allowed = custodian && roles & (ROLE_PHARMACY | ROLE_HOSPITAL) != 0;
            else if (to == Status.Destroyed) allowed = custodian;
            else if (to == Status.Suspect) allowed = custodian || owner || regulator;
            else allowed = owner || regulator; // Illegitimate, Recalled, Active
            if (to == Status.Recalled) allowed = owner;
            if (!allowed) revert DrugLedgerNotAllowed(msg.sender, to);
            u.status = to;
        }
        emit UnitsStatusChanged(msg.sender, to, units.length, eventHash);
    }

    /// @notice Recall a lot: every unit of it reads Recalled and cannot be dispensed, at once.
    /// @dev Requires: caller is the manufacturer that commissioned the lot. Recalling it again is
    ///      a no-op returning false. Emits LotRecalled when stored.
    function recallLot(bytes32 lot, bytes32 eventHash) external onlyMember returns (bool stored) {
        address owner = _lotOwner[lot];
        if (owner == address(0)) revert DrugLedgerUnknownLot(lot);
        if (owner != msg.sender) revert DrugLedgerLotOfAnotherManufacturer(lot, owner);
        if (_lotRecalled[lot]) return false;
        _lotRecalled[lot] = true;
        emit LotRecalled(lot, msg.sender, eventHash);
        return true;
    }

    // ---------------------------------------------------------------- reads

    /// @notice A unit's custodian and status (Recalled when its lot is), proving batch membership
    ///         when it has no own record yet. Reverts DrugLedgerNotInBatch for a unit not in it.
    function stateOf(UnitRef calldata ref) external view returns (address custodian, Status status) {
        Batch storage b = _batch(ref.batch);
        Unit storage u = _units[ref.id];
        if (u.batchPlusOne == 0) {
            _checkProof(ref, b.root);
            custodian = b.custodian;
            status = Status.Active;
        } else {
            b = _batches[u.batchPlusOne - 1];
            custodian = u.custodian;
            status = u.status;
        }
        if (status == Status.Active && _lotRecalled[b.lot]) status = Status.Recalled;
    }

    /// @notice Whether the lot commitment `lot` is recalled.
    function isLotRecalled(bytes32 lot) external view returns (bool) {
        return _lotRecalled[lot];
    }

    /// @notice The batch record number `batch`.
    function batchAt(uint32 batch) external view returns (Batch memory) {
        return _batch(batch);
    }

    /// @notice Number of batches commissioned.
    function batchCount() external view returns (uint256) {
        return _batches.length;
    }

    // ---------------------------------------------------------------- internals

    function _entry(uint64 value, uint8 digits) internal pure returns (bytes32) {
        return keccak256(abi.encode(value, digits));
    }

    function _batch(uint32 batch) internal view returns (Batch storage) {
        if (batch >= _batches.length) revert DrugLedgerNoSuchBatch(batch);
        return _batches[batch];
    }

    function _checkProof(UnitRef calldata ref, bytes32 root) internal pure {
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(ref.id))));
        if (!MerkleProof.verifyCalldata(ref.proof, root, leaf)) revert DrugLedgerNotInBatch(ref.id, ref.batch);
    }

    /// The unit's own record, created from its batch (after checking the proof) on first use, and
    /// its effective status (Recalled when Active in a recalled lot).
    function _touch(UnitRef calldata ref) internal returns (Unit storage u, Batch storage b, Status status) {
        u = _units[ref.id];
        if (u.batchPlusOne == 0) {
            b = _batch(ref.batch);
            _checkProof(ref, b.root);
            u.custodian = b.custodian;
            u.status = Status.Active;
            u.batchPlusOne = ref.batch + 1;
        } else {
            b = _batches[u.batchPlusOne - 1];
        }
        status = u.status;
        if (status == Status.Active && _lotRecalled[b.lot]) status = Status.Recalled;
    }

    function _allowedFrom(Status from, Status to) internal pure returns (bool) {
        if (to == Status.Dispensed || to == Status.Recalled) return from == Status.Active;
        if (to == Status.Suspect) return from == Status.Active || from == Status.Recalled;
        if (to == Status.Illegitimate) return from == Status.Active || from == Status.Suspect || from == Status.Recalled;
        if (to == Status.Destroyed) {
            return from == Status.Active || from == Status.Recalled || from == Status.Suspect || from == Status.Illegitimate;
        }
        if (to == Status.Active) return from == Status.Suspect;
        return false;
    }
}
