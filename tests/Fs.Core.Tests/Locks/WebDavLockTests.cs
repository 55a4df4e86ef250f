using Fs.Core.Locks;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Locks;

public sealed class WebDavLockTests : LockManagerTestBase
{
    [Fact]
    public async Task LockCarriesAFreshTokenTheOwnerXmlAndDepth()
    {
        var locks = NewManager();
        var first = (await locks.LockWebDavAsync(File, DavD, LockMode.Shared, -1, null, "<D:href>mailto:alice@example.com</D:href>")).Value;
        var second = (await locks.LockWebDavAsync(File, DavE, LockMode.Shared, 0, null, null)).Value;

        Assert.StartsWith("opaquelocktoken:", first.Token);
        Assert.True(Guid.TryParse(first.Token!["opaquelocktoken:".Length..], out _));
        Assert.NotEqual(first.Token, second.Token);
        Assert.Equal(("<D:href>mailto:alice@example.com</D:href>", -1), (first.Info, first.Depth));
        Assert.Equal([first, second], await locks.GetLocksAsync(File));
    }

    [Fact]
    public async Task SharedLocksCoexistAndExclusiveExcludesEveryone()
    {
        var locks = NewManager();
        Assert.True((await locks.LockWebDavAsync(File, DavD, LockMode.Shared, 0, null, null)).Ok);
        Assert.True((await locks.LockWebDavAsync(File, DavE, LockMode.Shared, 0, null, null)).Ok);
        Assert.Equal(Errno.EAGAIN, (await locks.LockWebDavAsync(File, DavE, LockMode.Exclusive, 0, null, null)).Error);

        var exclusive = (await locks.LockWebDavAsync(OtherFile, DavD, LockMode.Exclusive, 0, null, null)).Value;
        Assert.Equal(Errno.EAGAIN, (await locks.LockWebDavAsync(OtherFile, DavD, LockMode.Exclusive, 0, null, null)).Error);
        Assert.Equal(Errno.EAGAIN, (await locks.LockWebDavAsync(OtherFile, DavE, LockMode.Shared, 0, null, null)).Error);
        Assert.Equal([exclusive], await locks.GetLocksAsync(OtherFile));
    }

    [Fact]
    public async Task InvalidDepthOrModeIsEinval()
    {
        var locks = NewManager();
        Assert.Equal(Errno.EINVAL, (await locks.LockWebDavAsync(File, DavD, LockMode.Shared, 1, null, null)).Error);
        Assert.Equal(Errno.EINVAL, (await locks.LockWebDavAsync(File, DavD, (LockMode)9, 0, null, null)).Error);
    }

    [Fact]
    public async Task LockExpiresUnlessRefreshed()
    {
        var locks = NewManager();
        var granted = (await locks.LockWebDavAsync(File, DavD, LockMode.Exclusive, 0, TimeSpan.FromSeconds(10), null)).Value;

        Clock.Advance(TimeSpan.FromSeconds(8));
        var refreshed = (await locks.RefreshWebDavAsync(File, granted.Token!, TimeSpan.FromSeconds(10))).Value;
        Assert.Equal(granted with { ExpiresUnixMs = Clock.GetUtcNow().ToUnixTimeMilliseconds() + 10_000 }, refreshed);

        Clock.Advance(TimeSpan.FromSeconds(8));
        Assert.Equal([refreshed], await locks.GetLocksAsync(File));
        Assert.Equal(Errno.EAGAIN, await locks.SetPosixAsync(File, FuseA, LockMode.Shared, 0, 1, wait: false, pid: 1));

        Clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Empty(await locks.GetLocksAsync(File));
        Assert.True(await locks.CheckWebDavWriteAsync(File, []));
        Assert.Equal(Errno.ENOLCK, (await locks.RefreshWebDavAsync(File, granted.Token!, null)).Error);

        var next = (await locks.LockWebDavAsync(File, DavE, LockMode.Exclusive, 0, null, null)).Value;
        Assert.Equal([next], await Store.RawAsync(File));
    }

    [Fact]
    public async Task TimeoutsAreDefaultedCappedAndInfiniteOnlyWhenAllowed()
    {
        var capped = NewManager(new LockManagerOptions
        {
            PollInterval = NoPolling, Time = Clock, WebDavDefaultTimeout = TimeSpan.FromMinutes(5), WebDavMaxTimeout = TimeSpan.FromMinutes(30),
        });
        var infinite = NewManager(new LockManagerOptions { PollInterval = NoPolling, Time = Clock, WebDavAllowInfiniteTimeout = true });
        var now = Clock.GetUtcNow().ToUnixTimeMilliseconds();

        Assert.Equal(now + 300_000, (await capped.LockWebDavAsync(1, DavD, LockMode.Shared, 0, null, null)).Value.ExpiresUnixMs);
        Assert.Equal(now + 1_800_000, (await capped.LockWebDavAsync(2, DavD, LockMode.Shared, 0, TimeSpan.FromDays(3), null)).Value.ExpiresUnixMs);
        Assert.Equal(now + 1_800_000, (await capped.LockWebDavAsync(3, DavD, LockMode.Shared, 0, Timeout.InfiniteTimeSpan, null)).Value.ExpiresUnixMs);
        Assert.Equal(0, (await infinite.LockWebDavAsync(4, DavD, LockMode.Shared, 0, Timeout.InfiniteTimeSpan, null)).Value.ExpiresUnixMs);

        Clock.Advance(TimeSpan.FromDays(365));
        Assert.Single(await infinite.GetLocksAsync(4));
        Assert.Empty(await capped.GetLocksAsync(3));
    }

    [Fact]
    public async Task OnlyATokenHolderMayWriteALockedResource()
    {
        var locks = NewManager();
        Assert.True(await locks.CheckWebDavWriteAsync(File, []));

        var alice = (await locks.LockWebDavAsync(File, DavD, LockMode.Shared, 0, null, null)).Value.Token!;
        var bob = (await locks.LockWebDavAsync(File, DavE, LockMode.Shared, 0, null, null)).Value.Token!;
        var elsewhere = (await locks.LockWebDavAsync(OtherFile, DavE, LockMode.Exclusive, 0, null, null)).Value.Token!;

        Assert.False(await locks.CheckWebDavWriteAsync(File, []));
        Assert.False(await locks.CheckWebDavWriteAsync(File, [elsewhere, "opaquelocktoken:" + Guid.NewGuid()]));
        Assert.True(await locks.CheckWebDavWriteAsync(File, [alice]));
        Assert.True(await locks.CheckWebDavWriteAsync(File, [elsewhere, bob]));
    }

    [Fact]
    public async Task UnlockNeedsTheRightTokenOnTheRightResource()
    {
        var locks = NewManager();
        var token = (await locks.LockWebDavAsync(File, DavD, LockMode.Exclusive, 0, null, null)).Value.Token!;

        Assert.Equal(Errno.ENOLCK, await locks.UnlockWebDavAsync(File, "opaquelocktoken:" + Guid.NewGuid()));
        Assert.Equal(Errno.ENOLCK, await locks.UnlockWebDavAsync(OtherFile, token));
        Assert.False(await locks.CheckWebDavWriteAsync(File, []));

        Assert.Equal(Errno.OK, await locks.UnlockWebDavAsync(File, token));
        Assert.True(await locks.CheckWebDavWriteAsync(File, []));
        Assert.Equal(Errno.ENOLCK, await locks.UnlockWebDavAsync(File, token));
    }
}
