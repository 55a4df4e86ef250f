namespace Fs.Core.Cache;

/// <summary>
/// The memory tier's blocks, kept so that one pass over a lot of data neither pushes out what is used again nor fills
/// memory with blocks read once: a small probation queue for blocks read once, a main queue for blocks written or read
/// again, and the keys of blocks that left probation unused since (the 2Q scheme, as page caches and databases keep
/// sequential scans from flushing their hot pages). Not thread-safe: its owner locks.
/// </summary>
/// <remarks>
/// A block loaded by a read goes into probation, which holds at most <see cref="ProbationLimit"/> bytes of the tier's
/// limit: a stream through a large file recycles those few buffers instead of taking fresh memory for every block,
/// which on Linux costs more CPU (page faults, zeroing) than reading the disk. A block loaded again while its key is
/// remembered was used twice, out of probation's reach: it goes into the main queue, where it stays until least
/// recently used. Blocks just written go straight to the main queue, as they are likely read soon. A prefetched block
/// that leaves probation before anyone read it is not remembered: it was never used.
/// </remarks>
internal sealed class MemoryTier<TValue>
{
    private readonly BlockLru<TValue> _probation = new();
    private readonly BlockLru<TValue> _main = new();
    private readonly HashSet<BlockKey> _unread = [];
    private readonly BlockLru<bool> _remembered = new(); // keys only, newest first
    private readonly int _rememberedCapacity;
    private readonly long _probationFloor;
    private readonly Action<TValue> _release;

    /// <param name="rememberedCapacity">Most keys of blocks evicted from probation kept to recognise a second use.</param>
    /// <param name="probationFloor">Least bytes probation may hold (limit permitting): enough for the read-ahead of a stream or two.</param>
    /// <param name="release">Called with each value that leaves the tier, evicted or replaced.</param>
    public MemoryTier(int rememberedCapacity, long probationFloor, Action<TValue> release)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rememberedCapacity);
        ArgumentOutOfRangeException.ThrowIfNegative(probationFloor);
        _rememberedCapacity = rememberedCapacity;
        _probationFloor = probationFloor;
        _release = release;
    }

    public long Bytes => _probation.Bytes + _main.Bytes;

    public int Count => _probation.Count + _main.Count;

    public long ProbationBytes => _probation.Bytes;

    public int RememberedCount => _remembered.Count;

    /// <summary>Blocks evicted so far (replaced and removed blocks not counted).</summary>
    public long Evictions { get; private set; }

    /// <summary>
    /// Most bytes probation holds within a tier limited to <paramref name="limit"/>: a sixteenth, at least the floor, and
    /// never more than half, so that in a small tier blocks read once cannot outlast everything written.
    /// </summary>
    public long ProbationLimit(long limit) => Math.Min(limit / 2, Math.Max(limit / 16, _probationFloor));

    public bool Contains(BlockKey key) => _main.Contains(key) || _probation.Contains(key);

    /// <summary>Looks a block up for a reader, marking it most recently used within its queue.</summary>
    public bool TryGet(BlockKey key, out TValue value)
    {
        if (_main.TryGet(key, out value))
            return true;
        if (!_probation.TryGet(key, out value))
            return false;
        _unread.Remove(key);
        return true;
    }

    /// <summary>
    /// Adds a block (replacing any under its key) and evicts down to <paramref name="limit"/>. A block
    /// <paramref name="written"/> or remembered from probation joins the main queue; any other joins probation, marked
    /// unread when no reader asked for it (a prefetch).
    /// </summary>
    public void Add(BlockKey key, TValue value, long bytes, bool written, bool read, long limit)
    {
        var usedBefore = _remembered.Remove(key, out _);
        if (Take(key, out var replaced))
            _release(replaced);
        if (written || usedBefore)
        {
            _main.Set(key, value, bytes);
        }
        else
        {
            _probation.Set(key, value, bytes);
            if (!read)
                _unread.Add(key);
        }
        EvictTo(limit);
    }

    /// <summary>Takes a block out of the tier without releasing it; its key is not remembered.</summary>
    public bool Remove(BlockKey key, out TValue value)
    {
        _remembered.Remove(key, out _);
        return Take(key, out value);
    }

    /// <summary>Takes a block out of whichever queue holds it.</summary>
    private bool Take(BlockKey key, out TValue value)
    {
        if (_main.Remove(key, out value))
            return true;
        if (!_probation.Remove(key, out value))
            return false;
        _unread.Remove(key);
        return true;
    }

    /// <summary>
    /// Evicts until the tier holds at most <paramref name="limit"/> bytes and probation at most its share, oldest first,
    /// probation before the main queue while probation is over its share; returns the bytes evicted.
    /// </summary>
    public long EvictTo(long limit)
    {
        var before = Bytes;
        var probationLimit = ProbationLimit(limit);
        while (_probation.Bytes > probationLimit || (Bytes > limit && _main.Count == 0 && _probation.Count > 0))
            EvictOldestOnProbation();
        while (Bytes > limit && _main.TryRemoveOldest(out _, out var value))
        {
            _release(value);
            Evictions++;
        }
        return before - Bytes;
    }

    /// <summary>Evicts every block and forgets every key, like dropping a page cache; returns the bytes evicted.</summary>
    public long Clear()
    {
        var evicted = EvictTo(0);
        _remembered.Clear();
        return evicted;
    }

    private void EvictOldestOnProbation()
    {
        if (!_probation.TryRemoveOldest(out var key, out var value))
            return;
        _release(value);
        Evictions++;
        if (!_unread.Remove(key))
            Remember(key);
    }

    /// <summary>Remembers the key of a block evicted from probation, forgetting the oldest beyond capacity.</summary>
    private void Remember(BlockKey key)
    {
        if (_rememberedCapacity == 0)
            return;
        _remembered.Set(key, true, 1);
        if (_remembered.Count > _rememberedCapacity)
            _remembered.TryRemoveOldest(out _, out _);
    }
}
