using System.Collections.Concurrent;

namespace Fs.Core.Meta.Sqlite;

/// <summary>
/// Tells a dead session from a live one at once, without waiting out the heartbeat timeout: every process holds an
/// exclusive flock(2) on a file named after each session it registered, next to the database. The kernel drops the
/// lock when the process dies however it dies, so a session whose file can be locked by someone else has no process
/// behind it. This works for every process that can open the database file itself, containers sharing it included;
/// sessions without a file (registered by older versions, or whose file is gone) are left to the heartbeat timeout.
/// </summary>
internal sealed class SessionLiveness : IDisposable
{
    private readonly string _dir;
    private readonly ConcurrentDictionary<long, int> _held = new();

    public SessionLiveness(string databasePath) => _dir = databasePath + "-sessions";

    /// <summary>Starts holding the lock of a session this process registered.</summary>
    public void Hold(long session)
    {
        if (!OperatingSystem.IsLinux())
            return;
        Directory.CreateDirectory(_dir);
        // Locked under a private name and then renamed into place, so nobody ever finds the file unlocked.
        var temporary = Path.Combine(_dir, $".{session}.{Environment.ProcessId}.{Guid.NewGuid():N}");
        var fd = Libc.Open(temporary, Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0x180);
        if (fd < 0)
            throw Failure("open", temporary);
        if (Libc.Flock(fd, Libc.LOCK_EX | Libc.LOCK_NB) != 0)
        {
            var error = Failure("flock", temporary);
            Libc.Close(fd);
            File.Delete(temporary);
            throw error;
        }
        File.Move(temporary, PathOf(session), overwrite: true);
        _held[session] = fd;
    }

    /// <summary>Stops holding a session's lock and removes its file (the session was closed).</summary>
    public void Release(long session)
    {
        if (!_held.TryRemove(session, out var fd))
            return;
        File.Delete(PathOf(session));
        Libc.Close(fd);
    }

    /// <summary>
    /// True when <paramref name="session"/> certainly has no process left: its file exists, this process does not
    /// hold it, and it could be locked. The file is removed then, so a second look says false.
    /// </summary>
    public bool IsDead(long session)
    {
        if (!OperatingSystem.IsLinux() || _held.ContainsKey(session))
            return false;
        var path = PathOf(session);
        if (!File.Exists(path))
            return false;
        var fd = Libc.Open(path, Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        if (fd < 0)
            return false;
        try
        {
            if (Libc.Flock(fd, Libc.LOCK_EX | Libc.LOCK_NB) != 0)
                return false;
            File.Delete(path);
            return true;
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    /// <summary>Lets go of every lock, as the process's death would; the sessions' rows stay for others to clean.</summary>
    public void Dispose()
    {
        foreach (var session in _held.Keys)
            if (_held.TryRemove(session, out var fd))
                Libc.Close(fd);
    }

    private string PathOf(long session) => Path.Combine(_dir, $"{session}.lock");

    private static IOException Failure(string call, string path) => Libc.Failure($"{call} of session lock '{path}'");
}
