// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMemberRegistry} from "./IMemberRegistry.sol";

/// @title AuditAnchor
/// @notice Append-only record of each member's transparency-log tree heads (RFC 9162 §4.10 signed
///         tree heads: tree size, root hash, timestamp). The transaction signature is the member's
///         signature over the head. Anyone can later check a log against these anchors; a member
///         that rewrites its log after anchoring is caught by a consistency proof.
contract AuditAnchor {
    struct Head {
        uint64 treeSize;
        uint64 timestamp;
        uint64 blockNumber;
        bytes32 rootHash;
    }

    IMemberRegistry public immutable registry;

    mapping(address member => Head[]) private _heads;

    error AuditAnchorNotMember(address account);
    error AuditAnchorTreeSizeNotIncreasing(uint64 latest, uint64 given);
    error AuditAnchorEmptyRoot();
    error AuditAnchorIndexOutOfRange(uint256 index, uint256 length);

    event HeadAnchored(address indexed member, uint64 indexed treeSize, bytes32 rootHash, uint64 timestamp);

    constructor(IMemberRegistry registry_) {
        registry = registry_;
    }

    /// @notice Anchor a tree head of the caller's log.
    /// @dev Requires: caller is an active member; rootHash is nonzero; treeSize is strictly larger
    ///      than the caller's latest anchored size. Resubmitting exactly the latest head is a no-op
    ///      returning false (so an outbox may retry safely). Emits HeadAnchored when stored.
    /// @param timestamp the head's own timestamp (milliseconds since the Unix epoch, RFC 9162).
    function anchor(uint64 treeSize, bytes32 rootHash, uint64 timestamp) external returns (bool stored) {
        if (!registry.isActiveMember(msg.sender)) revert AuditAnchorNotMember(msg.sender);
        if (rootHash == bytes32(0)) revert AuditAnchorEmptyRoot();
        Head[] storage hs = _heads[msg.sender];
        if (hs.length > 0) {
            Head storage last = hs[hs.length - 1];
            if (last.treeSize == treeSize && last.rootHash == rootHash && last.timestamp == timestamp) return false;
            if (treeSize <= last.treeSize) revert AuditAnchorTreeSizeNotIncreasing(last.treeSize, treeSize);
        } else if (treeSize == 0) {
            revert AuditAnchorTreeSizeNotIncreasing(0, 0);
        }
        hs.push(Head(treeSize, timestamp, uint64(block.number), rootHash));
        emit HeadAnchored(msg.sender, treeSize, rootHash, timestamp);
        return true;
    }

    /// @notice Number of heads anchored by `member`.
    function headCount(address member) external view returns (uint256) {
        return _heads[member].length;
    }

    /// @notice The `index`-th head anchored by `member`, oldest first.
    function headAt(address member, uint256 index) external view returns (Head memory) {
        Head[] storage hs = _heads[member];
        if (index >= hs.length) revert AuditAnchorIndexOutOfRange(index, hs.length);
        return hs[index];
    }

    /// @notice The latest head anchored by `member`; all zero when none.
    function latestHead(address member) external view returns (Head memory head) {
        Head[] storage hs = _heads[member];
        if (hs.length > 0) head = hs[hs.length - 1];
    }
}
