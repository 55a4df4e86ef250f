namespace Fs.Core.Locks;

/// <summary>
/// Who waits for whom among the blocked POSIX requests of this process, to refuse with EDEADLK a wait that would never end.
/// Waits on other appliances are not seen; like Linux, only a cycle that is certain is reported.
/// </summary>
internal sealed class LockWaitGraph
{
    private readonly Lock _gate = new();
    private readonly List<LockWait> _waits = [];

    /// <summary>One blocked request: its owner, its inode, and the owners holding the locks in its way.</summary>
    internal sealed class LockWait(ulong ino, LockOwner waiter)
    {
        public ulong Ino { get; } = ino;

        public LockOwner Waiter { get; } = waiter;

        public IReadOnlyCollection<LockOwner> Blockers { get; set; } = [];
    }

    public LockWait Enter(ulong ino, LockOwner waiter)
    {
        var wait = new LockWait(ino, waiter);
        lock (_gate)
            _waits.Add(wait);
        return wait;
    }

    /// <summary>
    /// Records that <paramref name="wait"/> is blocked by <paramref name="blockers"/>, unless one of them already waits,
    /// directly or through others, for the same owner: then nothing is recorded and false is returned.
    /// </summary>
    public bool TryBlock(LockWait wait, IReadOnlyCollection<LockOwner> blockers)
    {
        lock (_gate)
        {
            var seen = new HashSet<LockOwner>();
            var pending = new Stack<LockOwner>(blockers);
            while (pending.TryPop(out var owner))
            {
                if (owner == wait.Waiter)
                    return false;
                if (!seen.Add(owner))
                    continue;
                foreach (var other in _waits)
                {
                    if (other.Waiter == owner && !ReferenceEquals(other, wait))
                    {
                        foreach (var next in other.Blockers)
                            pending.Push(next);
                    }
                }
            }
            wait.Blockers = blockers;
            return true;
        }
    }

    /// <summary>Forgets what the waits on <paramref name="ino"/> were blocked by: its locks changed, so they will look again.</summary>
    public void Clear(ulong ino)
    {
        lock (_gate)
        {
            foreach (var wait in _waits)
            {
                if (wait.Ino == ino)
                    wait.Blockers = [];
            }
        }
    }

    public void Leave(LockWait wait)
    {
        lock (_gate)
            _waits.Remove(wait);
    }
}
