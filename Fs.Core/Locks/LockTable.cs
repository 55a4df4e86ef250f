using Fs.Core.Vfs;

namespace Fs.Core.Locks;

/// <summary>
/// The lock rules as pure functions over one inode's lock list, shaped to be passed to
/// <see cref="ILockStore.UpdateLocksAsync{T}"/> so any engine applies them atomically. Every function that changes the
/// list returns it without expired WebDAV locks; one that changes nothing returns a null list, so nothing is written.
/// </summary>
/// <remarks>
/// Which kinds conflict:
/// <list type="bullet">
/// <item>POSIX with POSIX: another owner's overlapping range, where either is exclusive.</item>
/// <item>flock with flock: another owner, where either is exclusive.</item>
/// <item>POSIX with flock: never, as on Linux. NFS clients emulate flock with whole-file POSIX locks, so for them the two
/// meet anyway; local FUSE programs get the behaviour they were written for.</item>
/// <item>WebDAV with POSIX or flock: another owner, where either is exclusive; a WebDAV lock covers the whole file.</item>
/// <item>WebDAV with WebDAV: where either is exclusive, whoever holds it (RFC 4918 section 6.1: an exclusive lock is the only
/// lock on its resource).</item>
/// </list>
/// </remarks>
public static class LockTable
{
    public const string TokenScheme = "opaquelocktoken:";

    /// <summary>Whether a lock still counts at <paramref name="nowUnixMs"/>: only WebDAV locks expire.</summary>
    public static bool IsLive(LockRecord held, long nowUnixMs)
        => held.Kind != LockKind.WebDav || held.ExpiresUnixMs == 0 || held.ExpiresUnixMs >= nowUnixMs;

    /// <summary>Whether <paramref name="held"/> stands in the way of <paramref name="wanted"/> (expiry aside).</summary>
    public static bool Conflicts(LockRecord held, LockRecord wanted)
    {
        if (held.Mode == LockMode.Shared && wanted.Mode == LockMode.Shared)
            return false;
        var heldDav = held.Kind == LockKind.WebDav;
        var wantedDav = wanted.Kind == LockKind.WebDav;
        if (heldDav && wantedDav)
            return true;
        if (held.Owner == wanted.Owner)
            return false;
        if (heldDav || wantedDav)
            return true;
        if (held.Kind != wanted.Kind)
            return false;
        return held.Kind == LockKind.Flock || (held.Start < wanted.End && wanted.Start < held.End);
    }

    /// <summary>The live locks standing in the way of <paramref name="wanted"/>, lowest start first.</summary>
    public static IReadOnlyList<LockRecord> FindConflicts(IReadOnlyList<LockRecord> locks, LockRecord wanted, long nowUnixMs)
    {
        List<LockRecord>? conflicts = null;
        foreach (var held in locks)
        {
            if (IsLive(held, nowUnixMs) && Conflicts(held, wanted))
                (conflicts ??= []).Add(held);
        }
        if (conflicts is null)
            return [];
        // A stable sort, so equal starts keep the store's order and the answer does not depend on the engine.
        return [.. conflicts.OrderBy(c => c.Start)];
    }

    /// <summary>The live locks of the list.</summary>
    public static IReadOnlyList<LockRecord> Live(IReadOnlyList<LockRecord> locks, long nowUnixMs)
        => locks.All(l => IsLive(l, nowUnixMs)) ? locks : [.. locks.Where(l => IsLive(l, nowUnixMs))];

    /// <summary>Validates a byte range [start, end); end = <see cref="long.MaxValue"/> reaches end of file.</summary>
    public static Errno CheckRange(long start, long end) => start < 0 || end <= start ? Errno.EINVAL : Errno.OK;

    // ---- POSIX byte ranges ----

    /// <summary>
    /// Sets <paramref name="wanted"/> (a POSIX lock) unless another owner's lock conflicts. The owner's own ranges under it
    /// take its mode, and ranges of one mode that touch are merged, as POSIX requires. Returns the conflicts; none = granted.
    /// </summary>
    public static (IReadOnlyList<LockRecord>? Locks, IReadOnlyList<LockRecord> Conflicts) SetPosix(
        IReadOnlyList<LockRecord> locks, LockRecord wanted, long nowUnixMs)
    {
        var conflicts = FindConflicts(locks, wanted, nowUnixMs);
        if (conflicts.Count > 0)
            return (null, conflicts);
        if (locks.Any(h => h.Kind == LockKind.Posix && h.Owner == wanted.Owner && h.Mode == wanted.Mode
                           && h.Start <= wanted.Start && wanted.End <= h.End))
            return (null, []);

        var start = wanted.Start;
        var end = wanted.End;
        var result = new List<LockRecord>(locks.Count + 2);
        foreach (var held in locks)
        {
            if (!IsLive(held, nowUnixMs))
                continue;
            if (held.Kind != LockKind.Posix || held.Owner != wanted.Owner)
            {
                result.Add(held);
                continue;
            }
            var overlaps = held.Start < end && start < held.End;
            var touches = held.End == start || held.Start == end;
            if (held.Mode == wanted.Mode && (overlaps || touches))
            {
                start = Math.Min(start, held.Start);
                end = Math.Max(end, held.End);
                continue;
            }
            AddOutside(result, held, wanted.Start, wanted.End);
        }
        result.Add(wanted with { Start = start, End = end });
        return (Canonical(result), []);
    }

    /// <summary>Removes <paramref name="owner"/>'s POSIX locks over [start, end), splitting ranges that stick out of it.</summary>
    public static (IReadOnlyList<LockRecord>? Locks, Errno Result) UnlockPosix(
        IReadOnlyList<LockRecord> locks, LockOwner owner, long start, long end, long nowUnixMs)
    {
        if (!locks.Any(h => h.Kind == LockKind.Posix && h.Owner == owner && h.Start < end && start < h.End))
            return (null, Errno.OK);
        var result = new List<LockRecord>(locks.Count + 1);
        foreach (var held in locks)
        {
            if (!IsLive(held, nowUnixMs))
                continue;
            if (held.Kind == LockKind.Posix && held.Owner == owner)
                AddOutside(result, held, start, end);
            else
                result.Add(held);
        }
        return (Canonical(result), Errno.OK);
    }

    /// <summary>Removes every POSIX lock of <paramref name="owner"/> (close() of a file by that owner).</summary>
    public static (IReadOnlyList<LockRecord>? Locks, int Removed) ReleasePosixOwner(
        IReadOnlyList<LockRecord> locks, LockOwner owner, long nowUnixMs)
        => RemoveWhere(locks, l => l.Kind == LockKind.Posix && l.Owner == owner, nowUnixMs);

    // ---- flock ----

    /// <summary>
    /// Takes, upgrades or downgrades <paramref name="owner"/>'s whole-file lock. On conflict the owner's current lock stays,
    /// unless <paramref name="releaseOnConflict"/>: then it is dropped, as a blocking conversion does on BSD and Linux so two
    /// shared holders that both upgrade do not wait for each other forever.
    /// </summary>
    public static (IReadOnlyList<LockRecord>? Locks, Errno Result) SetFlock(
        IReadOnlyList<LockRecord> locks, LockOwner owner, LockMode mode, bool releaseOnConflict, long nowUnixMs)
    {
        var current = locks.FirstOrDefault(l => l.Kind == LockKind.Flock && l.Owner == owner);
        if (current?.Mode == mode)
            return (null, Errno.OK);
        var wanted = new LockRecord(LockKind.Flock, mode, owner);
        if (FindConflicts(locks, wanted, nowUnixMs).Count > 0)
        {
            if (releaseOnConflict && current is not null)
                return (Without(locks, current, nowUnixMs), Errno.EAGAIN);
            return (null, Errno.EAGAIN);
        }
        var result = Without(locks, current, nowUnixMs);
        result.Add(wanted);
        return (result, Errno.OK);
    }

    /// <summary>Removes <paramref name="owner"/>'s whole-file lock, if any.</summary>
    public static (IReadOnlyList<LockRecord>? Locks, Errno Result) Unflock(IReadOnlyList<LockRecord> locks, LockOwner owner, long nowUnixMs)
        => (RemoveWhere(locks, l => l.Kind == LockKind.Flock && l.Owner == owner, nowUnixMs).Locks, Errno.OK);

    // ---- WebDAV ----

    /// <summary>Adds the WebDAV lock <paramref name="wanted"/> unless a live lock conflicts (EAGAIN).</summary>
    public static (IReadOnlyList<LockRecord>? Locks, Result<LockRecord> Result) LockWebDav(
        IReadOnlyList<LockRecord> locks, LockRecord wanted, long nowUnixMs)
    {
        if (FindConflicts(locks, wanted, nowUnixMs).Count > 0)
            return (null, Errno.EAGAIN);
        List<LockRecord> result = [.. Live(locks, nowUnixMs), wanted];
        return (result, wanted);
    }

    /// <summary>Gives the live WebDAV lock with <paramref name="token"/> a new expiry; ENOLCK when there is none.</summary>
    public static (IReadOnlyList<LockRecord>? Locks, Result<LockRecord> Result) RefreshWebDav(
        IReadOnlyList<LockRecord> locks, string token, long expiresUnixMs, long nowUnixMs)
    {
        var current = FindToken(locks, token, nowUnixMs);
        if (current is null)
            return (null, Errno.ENOLCK);
        var refreshed = current with { ExpiresUnixMs = expiresUnixMs };
        var result = new List<LockRecord>(locks.Count);
        foreach (var held in locks)
        {
            if (ReferenceEquals(held, current))
                result.Add(refreshed);
            else if (IsLive(held, nowUnixMs))
                result.Add(held);
        }
        return (result, refreshed);
    }

    /// <summary>Removes the live WebDAV lock with <paramref name="token"/>; ENOLCK when there is none.</summary>
    public static (IReadOnlyList<LockRecord>? Locks, Errno Result) UnlockWebDav(IReadOnlyList<LockRecord> locks, string token, long nowUnixMs)
    {
        var current = FindToken(locks, token, nowUnixMs);
        return current is null ? (null, Errno.ENOLCK) : (Without(locks, current, nowUnixMs), Errno.OK);
    }

    /// <summary>
    /// Whether a WebDAV client may write the inode: yes when no live WebDAV lock is on it, or when the client submitted the
    /// token of one of them (any holder of a shared lock may write).
    /// </summary>
    public static bool MayWriteWebDav(IReadOnlyList<LockRecord> locks, IReadOnlyCollection<string> tokens, long nowUnixMs)
    {
        var locked = false;
        foreach (var held in locks)
        {
            if (held.Kind != LockKind.WebDav || !IsLive(held, nowUnixMs))
                continue;
            if (held.Token is not null && tokens.Contains(held.Token))
                return true;
            locked = true;
        }
        return !locked;
    }

    // ---- common ----

    /// <summary>Removes every lock matching <paramref name="match"/>; returns how many went.</summary>
    public static (IReadOnlyList<LockRecord>? Locks, int Removed) RemoveWhere(
        IReadOnlyList<LockRecord> locks, Func<LockRecord, bool> match, long nowUnixMs)
    {
        var removed = locks.Count(match);
        if (removed == 0)
            return (null, 0);
        return ([.. locks.Where(l => !match(l) && IsLive(l, nowUnixMs))], removed);
    }

    private static LockRecord? FindToken(IReadOnlyList<LockRecord> locks, string token, long nowUnixMs)
        => locks.FirstOrDefault(l => l.Kind == LockKind.WebDav && l.Token == token && IsLive(l, nowUnixMs));

    private static List<LockRecord> Without(IReadOnlyList<LockRecord> locks, LockRecord? gone, long nowUnixMs)
        => [.. locks.Where(l => !ReferenceEquals(l, gone) && IsLive(l, nowUnixMs))];

    /// <summary>Adds the parts of <paramref name="held"/> that lie outside [start, end).</summary>
    private static void AddOutside(List<LockRecord> result, LockRecord held, long start, long end)
    {
        if (held.End <= start || held.Start >= end)
        {
            result.Add(held);
            return;
        }
        if (held.Start < start)
            result.Add(held with { End = start });
        if (held.End > end)
            result.Add(held with { Start = end });
    }

    /// <summary>Keeps other locks in stored order and each owner's POSIX ranges after them by start, so the lists compare.</summary>
    private static List<LockRecord> Canonical(List<LockRecord> locks)
    {
        var posix = locks.Where(l => l.Kind == LockKind.Posix)
            .OrderBy(l => l.Owner.Session).ThenBy(l => l.Owner.Door).ThenBy(l => l.Owner.Client, StringComparer.Ordinal)
            .ThenBy(l => l.Owner.OwnerId).ThenBy(l => l.Start);
        return [.. locks.Where(l => l.Kind != LockKind.Posix), .. posix];
    }
}
