namespace Fs.Core.Meta;

/// <summary>
/// A block of ids (inodes, slices, cookies) reserved from a persisted counter, handed out from memory until it runs out.
/// The counter is advanced before the block is used, so an id is never handed out twice, even across a crash.
/// </summary>
internal sealed class IdRange(string counter)
{
    private readonly Lock _lock = new();
    private long _next;
    private long _end;

    /// <summary>The name of the counter the block comes from.</summary>
    public string Counter { get; } = counter;

    public int Available
    {
        get
        {
            lock (_lock)
                return (int)Math.Min(int.MaxValue, _end - _next);
        }
    }

    /// <summary>Takes the block [end - count, end) that the counter now reserves for this process.</summary>
    public void Refill(long end, long count)
    {
        lock (_lock)
        {
            // Another refill may have raced ahead; keep whichever block is fresh.
            if (end - count >= _end || _next >= _end)
            {
                _next = end - count;
                _end = end;
            }
        }
    }

    public bool TryTake(out ulong id)
    {
        lock (_lock)
        {
            if (_next < _end)
            {
                id = (ulong)_next++;
                return true;
            }
        }
        id = 0;
        return false;
    }

    public ulong Take() => TryTake(out var id) ? id : throw new InvalidOperationException($"No {Counter} ids reserved.");
}
