// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IMemberRegistry
/// @notice The view of consortium membership that other medchain contracts depend on.
/// @dev Consent, AuditAnchor and later Claims and DrugLedger take this interface in their
///      constructor, so new contracts can be deployed beside the Registry without changing it.
interface IMemberRegistry {
    /// @notice Whether `account` is a currently active consortium member.
    function isActiveMember(address account) external view returns (bool);

    /// @notice The organization-role bitmask of `account` (0 when not an active member).
    function rolesOf(address account) external view returns (uint16);
}
