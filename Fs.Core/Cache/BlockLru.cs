namespace Fs.Core.Cache;

/// <summary>Blocks in least-recently-used order with their byte sizes; not thread-safe, its owner locks.</summary>
internal sealed class BlockLru<TValue>
{
    private readonly Dictionary<BlockKey, LinkedListNode<Entry>> _entries = [];
    private readonly LinkedList<Entry> _recency = []; // first = most recently used

    public long Bytes { get; private set; }

    public int Count => _entries.Count;

    public bool Contains(BlockKey key) => _entries.ContainsKey(key);

    /// <summary>Looks a block up and marks it most recently used.</summary>
    public bool TryGet(BlockKey key, out TValue value)
    {
        if (_entries.TryGetValue(key, out var node))
        {
            _recency.Remove(node);
            _recency.AddFirst(node);
            value = node.Value.Value;
            return true;
        }
        value = default!;
        return false;
    }

    /// <summary>Adds or replaces a block as the most recently used.</summary>
    public void Set(BlockKey key, TValue value, long bytes)
    {
        Remove(key, out _);
        _entries[key] = _recency.AddFirst(new Entry(key, value, bytes));
        Bytes += bytes;
    }

    /// <summary>Adds a block as the least recently used: how entries found on disk at startup are ordered.</summary>
    public void AddOldest(BlockKey key, TValue value, long bytes)
    {
        Remove(key, out _);
        _entries[key] = _recency.AddLast(new Entry(key, value, bytes));
        Bytes += bytes;
    }

    public bool Remove(BlockKey key, out TValue value)
    {
        if (_entries.Remove(key, out var node))
        {
            _recency.Remove(node);
            Bytes -= node.Value.Bytes;
            value = node.Value.Value;
            return true;
        }
        value = default!;
        return false;
    }

    /// <summary>Forgets every block.</summary>
    public void Clear()
    {
        _entries.Clear();
        _recency.Clear();
        Bytes = 0;
    }

    public bool TryRemoveOldest(out BlockKey key, out TValue value)
    {
        var node = _recency.Last;
        if (node is null)
        {
            key = default;
            value = default!;
            return false;
        }
        key = node.Value.Key;
        return Remove(key, out value);
    }

    private readonly record struct Entry(BlockKey Key, TValue Value, long Bytes);
}
