using System.Collections.Concurrent;

namespace Fs.Core.Meta.Redis;

/// <summary>
/// What this appliance last saw of inodes, entries and its own open counts, used to skip the read before a commit: the
/// first attempt of an operation decides on these values and guards them like values it read, so a stale hint costs one
/// failed attempt (which then reads), never a wrong result. Bounded: past the limit everything is forgotten at once.
/// </summary>
internal sealed class RedisHints
{
    private const int Limit = 100_000;

    private readonly ConcurrentDictionary<ulong, byte[]> _inodes = new();
    private readonly ConcurrentDictionary<ulong, ConcurrentDictionary<string, string>> _entries = new();
    private readonly ConcurrentDictionary<(long Session, ulong Ino), long> _opens = new();

    public bool TryInode(ulong ino, out byte[] bytes) => _inodes.TryGetValue(ino, out bytes!);

    public void SetInode(ulong ino, byte[]? bytes)
    {
        if (bytes is null)
        {
            _inodes.TryRemove(ino, out _);
            return;
        }
        if (_inodes.Count >= Limit)
            _inodes.Clear();
        _inodes[ino] = bytes;
    }

    public bool TryEntry(ulong parent, string name, out string entry)
    {
        entry = null!;
        return _entries.TryGetValue(parent, out var names) && names.TryGetValue(name, out entry!);
    }

    public void SetEntry(ulong parent, string name, string? entry)
    {
        if (entry is null)
        {
            if (_entries.TryGetValue(parent, out var known))
                known.TryRemove(name, out _);
            return;
        }
        if (_entries.Count >= Limit)
            _entries.Clear();
        var names = _entries.GetOrAdd(parent, _ => new ConcurrentDictionary<string, string>(StringComparer.Ordinal));
        if (names.Count >= Limit)
            names.Clear();
        names[name] = entry;
    }

    /// <summary>How many times this appliance's session has the inode open, as its own commits left it (0 when unknown).</summary>
    public long Opens(long session, ulong ino) => _opens.GetValueOrDefault((session, ino));

    public void SetOpens(long session, ulong ino, long count)
    {
        if (count <= 0)
            _opens.TryRemove((session, ino), out _);
        else
            _opens[(session, ino)] = count;
    }

    public void ForgetSession(long session)
    {
        foreach (var key in _opens.Keys)
            if (key.Session == session)
                _opens.TryRemove(key, out _);
    }

    /// <summary>Another appliance changed the inode (or a directory's entries): what we remember of it is stale.</summary>
    public void Forget(ulong ino)
    {
        _inodes.TryRemove(ino, out _);
        _entries.TryRemove(ino, out _);
    }
}
