using System.Collections.Concurrent;
using Fs.Core.Vfs;

namespace Protocols.Fuse;

/// <summary>
/// The <see cref="Caller"/> of a request: uid and gid from the request header, supplementary groups from the
/// "Groups:" line of /proc/PID/status (the kernel does not pass them), remembered briefly per process.
/// </summary>
internal sealed class CallerResolver
{
    private static readonly long Lifetime = TimeSpan.FromSeconds(1).Ticks;
    private const int MaxEntries = 4096;

    private readonly ConcurrentDictionary<(uint Pid, uint Uid, uint Gid), (Caller Caller, long Expires)> _cache = new();
    private readonly string _procRoot;

    public CallerResolver(string procRoot = "/proc") => _procRoot = procRoot;

    public Caller Resolve(uint uid, uint gid, uint pid)
    {
        // Root passes every check whatever its groups, and requests from the kernel itself carry pid 0.
        if (uid == 0 || pid == 0)
            return gid == 0 && uid == 0 ? Caller.Root : new Caller(uid, gid);
        var now = DateTime.UtcNow.Ticks;
        var key = (pid, uid, gid);
        if (_cache.TryGetValue(key, out var entry) && entry.Expires > now)
            return entry.Caller;
        var caller = new Caller(uid, gid, ReadGroups(pid));
        if (_cache.Count >= MaxEntries)
            _cache.Clear();
        _cache[key] = (caller, now + Lifetime);
        return caller;
    }

    /// <summary>The supplementary groups of a process; none when it is gone or unreadable.</summary>
    public IReadOnlyList<uint> ReadGroups(uint pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"{_procRoot}/{pid}/status"))
            {
                if (!line.StartsWith("Groups:", StringComparison.Ordinal))
                    continue;
                return ParseGroups(line.AsSpan("Groups:".Length));
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return [];
    }

    internal static uint[] ParseGroups(ReadOnlySpan<char> text)
    {
        var groups = new List<uint>();
        foreach (var range in text.Split(' '))
        {
            var field = text[range].Trim();
            if (field.Length > 0 && uint.TryParse(field, out var g))
                groups.Add(g);
        }
        return [.. groups];
    }
}
