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

    /// @notice The number of `account`'s latest admission: 1 for its first, incremented on each
    ///         re-admission and never reused; 0 when it was never admitted. Still the last number
    ///         after removal (use isActiveMember to know whether that admission is in force).
    function admissionOf(address account) external view returns (uint32);
}
