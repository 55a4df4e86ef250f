using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Xunit.Abstractions;

namespace Appliance.Tests.EndToEnd;

/// <summary>
/// One of two appliance processes on a volume (Redis + s3rver) killed with SIGKILL (issue 6, acceptance 4): the survivor
/// releases its locks and deletes the files it kept open after they were unlinked, within the configured session timeout.
/// </summary>
[Collection(ApplianceProcessesCollection.Name)]
public sealed class ApplianceCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>Short, so the test waits seconds, not the default minute; beats then come every 250 ms.</summary>
    private static readonly TimeSpan SessionTimeout = TimeSpan.FromSeconds(3);

    private readonly SharedVolume _volume = new();

    public Task InitializeAsync() => _volume.InitializeAsync();

    public Task DisposeAsync() => _volume.DisposeAsync();

    [SkippableFact]
    public async Task A_killed_appliances_locks_are_released_and_its_unlinked_open_files_deleted_within_the_session_timeout()
    {
        Skip.IfNot(Protocols.Fuse.FuseMount.IsSupported(out var reason), reason);
        var timeout = SessionTimeout.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var a = await _volume.StartApplianceAsync("a", "--session-timeout", timeout);
        await using var b = await _volume.StartApplianceAsync("b", "--session-timeout", timeout);

        // A holds an fcntl lock through its mount and a WebDAV lock through its door.
        await File.WriteAllTextAsync(a.OnMount("posix-held.txt"), "locked through A\n");
        await using var lockOnA = await PosixLocker.OpenAsync(a.OnMount("posix-held.txt"));
        Assert.Null(await lockOnA.TryLockAsync());
        using (var put = await a.WebDav.PutAsync("dav-held.txt", new StringContent("locked through A\n")))
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await TwoAppliancesTests.LockAsync(a, "dav-held.txt", HttpStatusCode.OK);

        // A keeps a file open that B then unlinks: the file lives on, for A's sake only.
        var content = RandomNumberGenerator.GetBytes(3 << 20);
        await File.WriteAllBytesAsync(a.OnMount("unlinked-open.bin"), content);
        await using var openOnA = await PosixLocker.OpenAsync(a.OnMount("unlinked-open.bin"));
        var before = await UsageAsync();
        using (var delete = await b.WebDav.DeleteAsync("unlinked-open.bin"))
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(before, await UsageAsync());

        await using var lockOnB = await PosixLocker.OpenAsync(b.OnMount("posix-held.txt"));
        Assert.NotNull(await lockOnB.TryLockAsync());
        await TwoAppliancesTests.LockAsync(b, "dav-held.txt", HttpStatusCode.Locked);
        var deadline = SessionTimeout + TimeSpan.FromSeconds(15);
        var clock = new Stopwatch();
        // A waiter on B, blocked in F_SETLKW on A's lock, is granted once A's session is cleaned.
        async Task<TimeSpan?> GrantedAsync()
        {
            await lockOnB.LockAsync(deadline);
            return clock.Elapsed;
        }
        var waiter = GrantedAsync();
        await Task.Delay(300);
        Assert.False(waiter.IsCompleted, "B's waiter was granted the lock A holds");

        await a.KillAsync();
        clock.Start();
        // Each watched on its own, so one slow probe (a status run) does not delay noticing the others.
        async Task<TimeSpan?> WhenAsync(Func<Task<bool>> condition) =>
            await TwoAppliancesTests.PollAsync(condition, deadline) ? clock.Elapsed : null;
        var seen = await Task.WhenAll(
            waiter,
            WhenAsync(async () => (await TwoAppliancesTests.TryLockAsync(b, "dav-held.txt")).Status == HttpStatusCode.OK),
            WhenAsync(async () => await UsageAsync() == (before.UsedBytes - content.Length, before.UsedInodes - 1)));
        var (posixFree, davFree, deleted) = (seen[0], seen[1], seen[2]);
        output.WriteLine($"after SIGKILL (session timeout {SessionTimeout.TotalSeconds} s): fcntl waiter granted after {Ms(posixFree)}, " +
            $"WebDAV lock free after {Ms(davFree)}, unlinked open file deleted after {Ms(deleted)}");

        // Within the timeout, plus 1.5 s for this test's probes (a status run takes the longest) and a late beat of B on a
        // loaded machine; and not before A's session could have timed out (its last beat at most one beat before the kill).
        foreach (var (what, elapsed) in new[] { ("fcntl lock", posixFree), ("WebDAV lock", davFree), ("unlinked file", deleted) })
        {
            Assert.True(elapsed is not null, $"{what} still held {deadline.TotalSeconds} s after the kill");
            Assert.True(elapsed < SessionTimeout + TimeSpan.FromMilliseconds(1500), $"{what} released after {Ms(elapsed)}");
            Assert.True(elapsed > SessionTimeout - TimeSpan.FromSeconds(1), $"{what} released after {Ms(elapsed)}, before A's session timed out");
        }
        // The appliance that cleans the session wakes its own waiters at once, as a release notice from another would.
        Assert.True(posixFree - davFree < TimeSpan.FromMilliseconds(100),
            $"the waiter was granted {Ms(posixFree - davFree)} after the WebDAV lock was seen free");
        var sessions = (await _volume.StatusAsync()).GetProperty("sessions").EnumerateArray().ToList();
        Assert.Equal(b.Process.Pid, Assert.Single(sessions).GetProperty("pid").GetInt32());
        Assert.Equal("locked through A\n", await b.WebDav.GetStringAsync("dav-held.txt"));
    }

    private async Task<(long UsedBytes, long UsedInodes)> UsageAsync()
    {
        var usage = (await _volume.StatusAsync()).GetProperty("usage");
        return (usage.GetProperty("usedBytes").GetInt64(), usage.GetProperty("usedInodes").GetInt64());
    }

    private static string Ms(TimeSpan? elapsed) => elapsed is { } e ? $"{e.TotalMilliseconds:F0} ms" : "never";
}
