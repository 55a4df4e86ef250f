namespace Fs.Core.Meta.Redis;

/// <summary>
/// Closes of files that keep a name, made by this appliance's sessions and not yet taken off their open records in Redis:
/// such a close cannot delete anything, so it is sent later, many in one commit. Until then the record overstates the
/// session's opens, which only keeps a file that another appliance unlinks meanwhile a little longer.
/// </summary>
/// <remarks>
/// A commit that removes a session's whole record on the strength of owed closes (because every open it counts is owed)
/// settles them; a commit that only decrements the record must own the closes it subtracts (<see cref="Take"/>). So an owed
/// close is never counted twice, whichever commit gets in first: a record that is gone cannot be removed again.
/// </remarks>
internal sealed class OwedCloses
{
    private readonly Lock _sync = new();
    private readonly Dictionary<ulong, Dictionary<long, long>> _byInode = [];
    public void Add(long session, ulong ino)
    {
        lock (_sync)
        {
            if (!_byInode.TryGetValue(ino, out var sessions))
                _byInode[ino] = sessions = [];
            if (!sessions.TryAdd(session, 1))
                sessions[session]++;
        }
    }

    /// <summary>How many closes the session owes on the inode.</summary>
    public long Of(long session, ulong ino)
    {
        lock (_sync)
            return _byInode.TryGetValue(ino, out var sessions) ? sessions.GetValueOrDefault(session) : 0;
    }

    /// <summary>The sessions owing closes on the inode, with how many each.</summary>
    public List<(long Session, long Closes)> Of(ulong ino)
    {
        lock (_sync)
            return _byInode.TryGetValue(ino, out var sessions) ? [.. sessions.Select(s => (s.Key, s.Value))] : [];
    }

    /// <summary>
    /// Removes up to <paramref name="max"/> entries, each of another inode, for the caller to commit; they are the caller's
    /// from now on. One session per inode at a time, so that a commit deciding whether an inode is still open counts each
    /// leaving session once.
    /// </summary>
    public List<(long Session, ulong Ino, long Closes)> Take(int max)
    {
        var taken = new List<(long, ulong, long)>();
        lock (_sync)
        {
            foreach (var (ino, sessions) in _byInode)
            {
                if (taken.Count >= max)
                    break;
                var (session, closes) = sessions.First();
                taken.Add((session, ino, closes));
                if (sessions.Remove(session) && sessions.Count == 0)
                    _byInode.Remove(ino);
            }
        }
        return taken;
    }

    /// <summary>A commit removed the session's record of the inode, which covered <paramref name="closes"/> owed closes.</summary>
    public void Settle(long session, ulong ino, long closes)
    {
        if (closes <= 0)
            return;
        lock (_sync)
        {
            if (!_byInode.TryGetValue(ino, out var sessions) || !sessions.TryGetValue(session, out var owed))
                return;
            if (owed > closes)
                sessions[session] = owed - closes;
            else if (sessions.Remove(session) && sessions.Count == 0)
                _byInode.Remove(ino);
        }
    }

    /// <summary>The session is closed: its records are gone, and with them what it owed.</summary>
    public void Forget(long session)
    {
        lock (_sync)
        {
            foreach (var (ino, sessions) in _byInode)
            {
                if (sessions.Remove(session) && sessions.Count == 0)
                    _byInode.Remove(ino);
            }
        }
    }
}
