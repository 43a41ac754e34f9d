/**
 * The verifier's check that entries claim the index they are stored at: every index from 0 to the
 * highest claimed must be claimed exactly once. Kept in typed arrays (5 bytes per stored entry),
 * so a log of millions is checked without a map per entry; a claim beyond the number of stored
 * entries (a forged index) goes to a small map.
 */
export type ClaimProblem = 'log-entry-deleted' | 'log-entry-inserted' | 'log-entries-reordered';

/** How many out-of-order positions a report names before it only counts them. */
const LISTED = 20;

export class EntryClaims {
  /** firstAt[c] = 1 + the position of the first entry claiming index c, or 0. */
  private readonly firstAt: Int32Array;
  private readonly beyond = new Map<number, number>();
  /** undecodable[p] = 1 when the entry at position p does not decode (it claims nothing). */
  private readonly undecodable: Uint8Array;
  private highest = -1;
  private readonly misplaced: number[] = [];
  private misplacedCount = 0;
  private sawDuplicate = false;

  constructor(
    private readonly capacity: number,
    private readonly report: (kind: ClaimProblem, where: string, detail: string) => void,
  ) {
    this.firstAt = new Int32Array(capacity);
    this.undecodable = new Uint8Array(capacity);
  }

  /** The entry at `position` claims index `claimed` (undefined: it does not decode). */
  claim(position: number, claimed: number | undefined): void {
    if (claimed === undefined) {
      if (position < this.capacity) this.undecodable[position] = 1;
      return;
    }
    const first =
      claimed < this.capacity ? (this.firstAt[claimed] as number) - 1 : (this.beyond.get(claimed) ?? -1);
    if (first >= 0) {
      this.sawDuplicate = true;
      this.report(
        'log-entry-inserted',
        `log entry at position ${position}`,
        `it claims index ${claimed}, already held by position ${first}`,
      );
      return;
    }
    if (claimed < this.capacity) this.firstAt[claimed] = position + 1;
    else this.beyond.set(claimed, position);
    if (claimed > this.highest) this.highest = claimed;
    if (claimed !== position) {
      this.misplacedCount++;
      if (this.misplaced.length < LISTED) this.misplaced.push(position);
    }
  }

  /**
   * After the last entry: unclaimed indexes (as ranges) are deleted entries; entries that claim
   * another position are reported as reordered, unless deletions or insertions explain them.
   * `sawDeletion` says whether the stored sequence itself had gaps.
   */
  finish(sawDeletion: boolean): void {
    let deleted = sawDeletion;
    let from = -1;
    let last = -1;
    // Unclaimed indexes arrive in increasing order; consecutive ones make one report.
    const unclaimed = (a: number, b: number) => {
      if (from < 0) from = a;
      last = b;
    };
    const close = () => {
      if (from < 0) return;
      deleted = true;
      if (from === last)
        this.report('log-entry-deleted', `log entry ${from}`, 'no stored entry claims this index');
      else
        this.report(
          'log-entry-deleted',
          `log entries ${from} to ${last}`,
          'no stored entries claim these indexes',
        );
      from = -1;
    };
    const inside = Math.min(this.highest, this.capacity - 1);
    for (let i = 0; i <= inside; i++) {
      if (this.firstAt[i] === 0 && this.undecodable[i] === 0) unclaimed(i, i);
      else close();
    }
    // Claims past the stored entries (forged indexes): every index up to them is missing.
    let next = this.capacity;
    for (const c of [...this.beyond.keys()].sort((a, b) => a - b)) {
      if (c > next) unclaimed(next, c - 1);
      close();
      next = c + 1;
    }
    close();
    if (this.misplacedCount > 0 && !deleted && !this.sawDuplicate) {
      const more = this.misplacedCount - this.misplaced.length;
      this.report(
        'log-entries-reordered',
        `log positions ${this.misplaced.join(', ')}${more > 0 ? ` and ${more} more` : ''}`,
        'entries are stored out of order',
      );
    }
  }
}
