using System.Collections.Concurrent;
using Fs.Core.Vfs;

namespace Protocols.Fuse;

/// <summary>
/// The kernel's lookup count of every inode it holds (node id = inode number): raised by each reply that hands out an
/// entry, lowered by FORGET and BATCH_FORGET. An inode the kernel does not hold needs no cache invalidation.
/// </summary>
internal sealed class InodeLookupTable
{
    private readonly ConcurrentDictionary<ulong, long> _counts = new();

    public int Count => _counts.Count;

    public void Remember(ulong ino)
    {
        if (ino != FsLimits.RootIno)
            _counts.AddOrUpdate(ino, 1, static (_, n) => n + 1);
    }

    public void Forget(ulong ino, ulong nlookup)
    {
        while (_counts.TryGetValue(ino, out var n))
        {
            var left = n - (long)Math.Min(nlookup, (ulong)long.MaxValue);
            if (left <= 0)
            {
                if (_counts.TryRemove(new KeyValuePair<ulong, long>(ino, n)))
                    return;
            }
            else if (_counts.TryUpdate(ino, left, n))
            {
                return;
            }
        }
    }

    /// <summary>Whether the kernel may hold the inode (the root it always holds).</summary>
    public bool Knows(ulong ino) => ino == FsLimits.RootIno || _counts.ContainsKey(ino);

    public long LookupCount(ulong ino) => _counts.TryGetValue(ino, out var n) ? n : 0;
}
