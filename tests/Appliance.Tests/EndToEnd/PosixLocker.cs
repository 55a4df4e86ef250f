using System.Globalization;

namespace Appliance.Tests.EndToEnd;

/// <summary>
/// A python3 process holding one file open that takes and releases fcntl locks on it when told (EndToEnd/posix_lock.py):
/// a lock taken through a FUSE mount, as any program on the host takes one.
/// </summary>
public sealed class PosixLocker : IAsyncDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    private readonly ChildProcess _process;

    private PosixLocker(ChildProcess process) => _process = process;

    public static async Task<PosixLocker> OpenAsync(string path)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "EndToEnd", "posix_lock.py");
        var locker = new PosixLocker(ChildProcess.StartProgram("python3", AppContext.BaseDirectory, script, path));
        await locker._process.WaitForLineAsync(l => l == "open", ReplyTimeout);
        return locker;
    }

    /// <summary>F_SETLK of an exclusive whole-file lock: null when granted, else the errno name (EAGAIN, EACCES).</summary>
    public async Task<string?> TryLockAsync()
    {
        await _process.SendLineAsync("trylock");
        var reply = await _process.WaitForLineAsync(l => l == "locked" || l.StartsWith("busy ", StringComparison.Ordinal), ReplyTimeout);
        return reply == "locked" ? null : reply["busy ".Length..];
    }

    /// <summary>Starts an F_SETLKW; the task ends with the CLOCK_MONOTONIC second at which the lock was granted.</summary>
    public async Task<double> LockAsync(TimeSpan timeout)
    {
        await _process.SendLineAsync("lock");
        return Seconds(await _process.WaitForLineAsync(l => l.StartsWith("locked ", StringComparison.Ordinal), timeout));
    }

    /// <summary>Releases the lock; returns the CLOCK_MONOTONIC second just before the release.</summary>
    public async Task<double> UnlockAsync()
    {
        await _process.SendLineAsync("unlock");
        return Seconds(await _process.WaitForLineAsync(l => l.StartsWith("unlocked ", StringComparison.Ordinal), ReplyTimeout));
    }

    private static double Seconds(string line) => double.Parse(line[(line.IndexOf(' ') + 1)..], CultureInfo.InvariantCulture);

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
