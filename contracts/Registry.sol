// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IMemberRegistry} from "./IMemberRegistry.sol";

/// @title Registry
/// @notice Consortium membership for medchain: who the member organizations are, their roles,
///         node endpoints and X25519 encryption keys. Genesis members are fixed at deployment;
///         afterwards admitting or removing a member takes the votes of M of the N active members
///         (M = ceil(N * quorumPercent / 100)). No account holds an admin role: AccessControl's
///         DEFAULT_ADMIN_ROLE is never granted, so roles change only through executed proposals.
///         Every admission of an account gets the next admission number of that account (1, 2, ...;
///         never reused), so a member removed and admitted again is told apart from its earlier
///         membership: consent names the admission it was given to (see Consent).
contract Registry is AccessControl, IMemberRegistry {
    /// @notice AccessControl role held by every active member.
    bytes32 public constant MEMBER_ROLE = keccak256("MEMBER_ROLE");

    /// Organization roles, as bits of a uint16 mask.
    uint16 public constant ROLE_HOSPITAL = 1 << 0;
    uint16 public constant ROLE_CLINIC = 1 << 1;
    uint16 public constant ROLE_LAB = 1 << 2;
    uint16 public constant ROLE_INSURER = 1 << 3;
    uint16 public constant ROLE_PHARMACY = 1 << 4;
    uint16 public constant ROLE_MANUFACTURER = 1 << 5;
    uint16 public constant ROLE_DISTRIBUTOR = 1 << 6;
    uint16 public constant ROLE_REGULATOR = 1 << 7;
    uint16 public constant ALL_ROLES = (1 << 8) - 1;

    /// @notice How long a proposal stays open for votes.
    uint64 public constant PROPOSAL_LIFETIME = 7 days;

    enum ProposalKind {
        Admit,
        Remove
    }

    struct Member {
        uint16 roles;
        bool active;
        uint64 since;
        /// The number of the account's latest admission (1 for the first); kept when removed.
        uint32 admission;
        bytes32 encryptionKey;
        string name;
        string endpoint;
    }

    struct MemberInput {
        address account;
        uint16 roles;
        bytes32 encryptionKey;
        string name;
        string endpoint;
    }

    struct Proposal {
        ProposalKind kind;
        bool executed;
        uint64 deadline;
        address proposer;
        MemberInput candidate;
        address[] voters;
    }

    /// @notice Percentage of active members whose votes carry a proposal (1..100).
    uint8 public immutable quorumPercent;

    mapping(address account => Member) private _members;
    address[] private _accounts;
    uint256 private _activeCount;
    Proposal[] private _proposals;
    mapping(uint256 proposalId => mapping(address voter => bool)) private _voted;

    error RegistryNotMember(address account);
    error RegistryAlreadyMember(address account);
    error RegistryInvalidMember(address account);
    error RegistryInvalidQuorum(uint8 quorumPercent);
    error RegistryInvalidRoles(uint16 roles);
    error RegistryUnknownProposal(uint256 proposalId);
    error RegistryProposalClosed(uint256 proposalId);
    error RegistryAlreadyVoted(uint256 proposalId, address voter);
    error RegistryLastMember();
    error RegistryRolesAreGoverned();

    event MemberAdmitted(
        address indexed account, uint32 admission, uint16 roles, string name, string endpoint, bytes32 encryptionKey
    );
    event MemberRemoved(address indexed account);
    event EndpointUpdated(address indexed account, string endpoint);
    event EncryptionKeyUpdated(address indexed account, bytes32 encryptionKey);
    event ProposalCreated(uint256 indexed proposalId, ProposalKind kind, address indexed account, address indexed proposer);
    event Voted(uint256 indexed proposalId, address indexed voter, uint256 votes, uint256 required);
    event ProposalExecuted(uint256 indexed proposalId);

    /// @param genesis the founding members; at least one.
    /// @param quorumPercent_ percentage of active members needed to carry a proposal, 1..100.
    constructor(MemberInput[] memory genesis, uint8 quorumPercent_) {
        if (quorumPercent_ == 0 || quorumPercent_ > 100) revert RegistryInvalidQuorum(quorumPercent_);
        if (genesis.length == 0) revert RegistryLastMember();
        quorumPercent = quorumPercent_;
        for (uint256 i = 0; i < genesis.length; i++) {
            _admit(genesis[i]);
        }
    }

    modifier onlyMember() {
        if (!_members[msg.sender].active) revert RegistryNotMember(msg.sender);
        _;
    }

    // ----- governance -----

    /// @notice Propose admitting `candidate`. The proposer's vote is counted at once.
    /// @dev Requires: caller is an active member; candidate is not active, has a nonzero address,
    ///      a valid nonzero role mask and an encryption key. Emits ProposalCreated and Voted, and
    ///      MemberAdmitted if the proposer's vote alone reaches the quorum. A former member may be
    ///      proposed again; its admission then gets the next admission number.
    function proposeAdmission(MemberInput calldata candidate) external onlyMember returns (uint256 proposalId) {
        _checkCandidate(candidate);
        if (_members[candidate.account].active) revert RegistryAlreadyMember(candidate.account);
        proposalId = _newProposal(ProposalKind.Admit, candidate);
    }

    /// @notice Propose removing the active member `account`. The proposer's vote is counted at once.
    /// @dev Requires: caller is an active member; `account` is active and not the last member.
    function proposeRemoval(address account) external onlyMember returns (uint256 proposalId) {
        if (!_members[account].active) revert RegistryNotMember(account);
        if (_activeCount == 1) revert RegistryLastMember();
        MemberInput memory target;
        target.account = account;
        proposalId = _newProposal(ProposalKind.Remove, target);
    }

    /// @notice Vote for an open proposal; executes it once M of the N active members voted for it.
    /// @dev Requires: caller is an active member who has not voted; the proposal is open.
    ///      Votes of members removed since they voted no longer count.
    function vote(uint256 proposalId) external onlyMember returns (bool executed) {
        if (proposalId >= _proposals.length) revert RegistryUnknownProposal(proposalId);
        Proposal storage p = _proposals[proposalId];
        if (p.executed || block.timestamp > p.deadline) revert RegistryProposalClosed(proposalId);
        if (_voted[proposalId][msg.sender]) revert RegistryAlreadyVoted(proposalId, msg.sender);
        return _castVote(proposalId, p);
    }

    // ----- self-service -----

    /// @notice A member rotates its own node endpoint. Emits EndpointUpdated.
    function updateEndpoint(string calldata endpoint) external onlyMember {
        _members[msg.sender].endpoint = endpoint;
        emit EndpointUpdated(msg.sender, endpoint);
    }

    /// @notice A member rotates its own X25519 encryption public key. Emits EncryptionKeyUpdated.
    function updateEncryptionKey(bytes32 encryptionKey) external onlyMember {
        if (encryptionKey == bytes32(0)) revert RegistryInvalidMember(msg.sender);
        _members[msg.sender].encryptionKey = encryptionKey;
        emit EncryptionKeyUpdated(msg.sender, encryptionKey);
    }

    /// @dev Roles follow membership votes only; nobody may grant, revoke or renounce them directly.
    function grantRole(bytes32, address) public pure override {
        revert RegistryRolesAreGoverned();
    }

    /// @dev See grantRole.
    function revokeRole(bytes32, address) public pure override {
        revert RegistryRolesAreGoverned();
    }

    /// @dev See grantRole.
    function renounceRole(bytes32, address) public pure override {
        revert RegistryRolesAreGoverned();
    }

    // ----- views -----

    /// @inheritdoc IMemberRegistry
    function isActiveMember(address account) external view returns (bool) {
        return _members[account].active;
    }

    /// @inheritdoc IMemberRegistry
    function rolesOf(address account) external view returns (uint16) {
        Member storage m = _members[account];
        return m.active ? m.roles : 0;
    }

    /// @inheritdoc IMemberRegistry
    function admissionOf(address account) external view returns (uint32) {
        return _members[account].admission;
    }

    /// @notice The stored record of `account` (active or removed), with its latest admission number.
    function getMember(address account) external view returns (Member memory) {
        return _members[account];
    }

    /// @notice Every account that was ever a member, in order of first admission.
    function memberAccounts() external view returns (address[] memory) {
        return _accounts;
    }

    /// @notice Number of active members (N).
    function activeMemberCount() external view returns (uint256) {
        return _activeCount;
    }

    /// @notice Votes needed to carry a proposal now (M).
    function requiredVotes() public view returns (uint256) {
        return (_activeCount * quorumPercent + 99) / 100;
    }

    /// @notice Number of proposals ever made.
    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    /// @notice A proposal, with the count of votes that still count.
    function getProposal(uint256 proposalId) external view returns (Proposal memory proposal, uint256 votes) {
        if (proposalId >= _proposals.length) revert RegistryUnknownProposal(proposalId);
        proposal = _proposals[proposalId];
        votes = _countVotes(proposal.voters);
    }

    // ----- internal -----

    function _newProposal(ProposalKind kind, MemberInput memory candidate) private returns (uint256 proposalId) {
        proposalId = _proposals.length;
        Proposal storage p = _proposals.push();
        p.kind = kind;
        p.deadline = uint64(block.timestamp) + PROPOSAL_LIFETIME;
        p.proposer = msg.sender;
        p.candidate = candidate;
        emit ProposalCreated(proposalId, kind, candidate.account, msg.sender);
        _castVote(proposalId, p);
    }

    function _castVote(uint256 proposalId, Proposal storage p) private returns (bool) {
        _voted[proposalId][msg.sender] = true;
        p.voters.push(msg.sender);
        uint256 votes = _countVotes(p.voters);
        uint256 required = requiredVotes();
        emit Voted(proposalId, msg.sender, votes, required);
        if (votes < required) return false;
        p.executed = true;
        if (p.kind == ProposalKind.Admit) {
            if (_members[p.candidate.account].active) revert RegistryAlreadyMember(p.candidate.account);
            _admit(p.candidate);
        } else {
            if (!_members[p.candidate.account].active) revert RegistryNotMember(p.candidate.account);
            if (_activeCount == 1) revert RegistryLastMember();
            _remove(p.candidate.account);
        }
        emit ProposalExecuted(proposalId);
        return true;
    }

    function _countVotes(address[] memory voters) private view returns (uint256 n) {
        for (uint256 i = 0; i < voters.length; i++) {
            if (_members[voters[i]].active) n++;
        }
    }

    function _checkCandidate(MemberInput memory c) private pure {
        if (c.account == address(0) || c.encryptionKey == bytes32(0) || bytes(c.name).length == 0) {
            revert RegistryInvalidMember(c.account);
        }
        if (c.roles == 0 || c.roles & ~ALL_ROLES != 0) revert RegistryInvalidRoles(c.roles);
    }

    function _admit(MemberInput memory c) private {
        _checkCandidate(c);
        if (_members[c.account].active) revert RegistryAlreadyMember(c.account);
        uint32 admission = _members[c.account].admission + 1;
        if (admission == 1) _accounts.push(c.account);
        _members[c.account] = Member({
            roles: c.roles,
            active: true,
            since: uint64(block.timestamp),
            admission: admission,
            encryptionKey: c.encryptionKey,
            name: c.name,
            endpoint: c.endpoint
        });
        _activeCount++;
        _grantRole(MEMBER_ROLE, c.account);
        emit MemberAdmitted(c.account, admission, c.roles, c.name, c.endpoint, c.encryptionKey);
    }

    function _remove(address account) private {
        _members[account].active = false;
        _activeCount--;
        _revokeRole(MEMBER_ROLE, account);
        emit MemberRemoved(account);
    }
}
