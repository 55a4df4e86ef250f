using Fs.Core.Meta;
using Microsoft.Extensions.Logging;

namespace Fs.Core.Vfs;

// Trash expiry and the capacity limit: volume-wide rules applied on top of the engine's operations.
public sealed partial class FileSystem
{
    private const string TrashLease = "trash-cleaner";

    /// <summary>
    /// Empties the trash hours older than the volume keeps, judged by <see cref="FileSystemOptions.Clock"/>, and queues
    /// their data for deletion; returns how many entries went. The background job calls this; so can tests and operators.
    /// </summary>
    public async Task<int> EmptyExpiredTrashAsync(CancellationToken ct = default)
    {
        if (Format.TrashDays <= 0)
            return 0;
        var removed = await new TrashBin(_meta).EmptyExpiredAsync(_options.Clock.GetUtcNow().UtcDateTime, TimeSpan.FromDays(Format.TrashDays), ct)
            .ConfigureAwait(false);
        if (removed > 0)
        {
            _logger.LogInformation("Emptied {Count} expired entries from the trash", removed);
            _deleter.Wake();
        }
        return removed;
    }

    private async Task TrashLoopAsync()
    {
        var ct = _stop.Token;
        // The lease outlives a missed round or two, so the holder keeps it while it runs and another appliance takes
        // over soon after it stops.
        var lease = _options.TrashCleanInterval * 3;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.TrashCleanInterval, ct).ConfigureAwait(false);
                if (Format.TrashDays > 0 && await _meta.TryAcquireLeaseAsync(TrashLease, Session, lease, ct).ConfigureAwait(false))
                    await EmptyExpiredTrashAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "emptying the trash failed; retrying in {Interval}", _options.TrashCleanInterval);
            }
        }
    }

    /// <summary>
    /// ENOSPC when growing a file from <paramref name="knownEnd"/> to <paramref name="end"/> would take the volume past its
    /// capacity. Counts the committed usage plus what every writer of this process has buffered beyond its file's stored
    /// length, so a burst of buffered writes cannot overshoot; rewriting bytes inside a file is always allowed.
    /// </summary>
    private async ValueTask<Errno> CheckCapacityAsync(long knownEnd, long end, CancellationToken ct)
    {
        var capacity = Format.CapacityBytes;
        if (capacity <= 0 || end <= knownEnd)
            return Errno.OK;
        var usage = await _meta.GetUsageAsync(ct).ConfigureAwait(false);
        long buffered = 0;
        foreach (var writer in _writers.Values)
            buffered += writer.PendingGrowth;
        var growth = Chunks.ChunkLayout.Usage(end) - Chunks.ChunkLayout.Usage(knownEnd);
        return usage.UsedBytes + buffered + growth > capacity ? Errno.ENOSPC : Errno.OK;
    }
}
