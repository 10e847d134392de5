const BYTES_PER_MB = 1024 * 1024;
// Small chunks so growth never needs one huge contiguous allocation.
const CHUNK_BYTES = BYTES_PER_MB;
const FILL_BYTE = 0xa5;

/** Memory held on purpose, so RSS grows the way a leaking gateway's does. */
export class MemoryBallast {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;

  // Adds `mb` megabytes; every page is written, since untouched allocations never reach RSS.
  grow(mb: number): void {
    for (let left = Math.round(mb * BYTES_PER_MB); left > 0; left -= CHUNK_BYTES) {
      const size = Math.min(left, CHUNK_BYTES);
      this.chunks.push(Buffer.allocUnsafeSlow(size).fill(FILL_BYTE));
      this.bytes += size;
    }
  }

  // Total held, for the log line.
  get heldMb(): number {
    return Math.round(this.bytes / BYTES_PER_MB);
  }
}
