using Fs.Core.Locks;
using Fs.Core.Vfs;
using Protocols.Nfs.Nlm;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Tests.Nlm;

/// <summary>NLM v4 and NSM through TCP, against the shared lock manager that other doors use.</summary>
public sealed class NlmTests : NfsServerTest
{
    private const uint NlmProg = NlmProgram.ProgramNumber;

    private static void WriteLock(XdrWriter w, byte[] fh, string caller, int svid, ulong offset, ulong length)
    {
        w.WriteString(caller);
        w.WriteOpaque(fh);
        w.WriteOpaque(System.Text.Encoding.ASCII.GetBytes($"{svid}@{caller}"));
        w.WriteInt32(svid);
        w.WriteUInt64(offset);
        w.WriteUInt64(length);
    }

    private static async Task<NlmStatus> LockAsync(RpcTestClient client, byte[] fh, string caller, int svid, bool block = false, bool exclusive = true, ulong offset = 0, ulong length = 0)
    {
        var reply = await client.CallAsync(NlmProg, 4, 2, w =>
        {
            w.WriteOpaque([1, 2]);
            w.WriteBool(block);
            w.WriteBool(exclusive);
            WriteLock(w, fh, caller, svid, offset, length);
            w.WriteBool(false);
            w.WriteInt32(1);
        });
        var r = reply.Reader();
        Assert.Equal(new byte[] { 1, 2 }, r.ReadOpaque(1024).ToArray());
        return (NlmStatus)r.ReadUInt32();
    }

    private static async Task<NlmStatus> UnlockAsync(RpcTestClient client, byte[] fh, string caller, int svid)
    {
        var reply = await client.CallAsync(NlmProg, 4, 4, w => { w.WriteOpaque([]); WriteLock(w, fh, caller, svid, 0, 0); });
        var r = reply.Reader();
        r.ReadOpaque(1024);
        return (NlmStatus)r.ReadUInt32();
    }

    private async Task<(byte[] Fh, ulong Ino, RpcTestClient Client)> FileAsync()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        var (_, fh) = await CreateAsync(client, root, "locked");
        var ino = (await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, "locked")).Value.Ino;
        return (fh, ino, client);
    }

    [Fact]
    public async Task A_lock_taken_over_nlm_is_held_in_the_shared_lock_manager_and_released_by_unlock()
    {
        var (fh, ino, client) = await FileAsync();
        Assert.Equal(NlmStatus.Granted, await LockAsync(client, fh, "guest-a", 10, length: 100));
        var hostOwner = new LockOwner(Fs.Session, LockDoor.Core, "host", 1);
        Assert.Equal(Errno.EAGAIN, await Fs.Locks.SetPosixAsync(ino, hostOwner, LockMode.Exclusive, 50, 60, false, 1, CancellationToken.None));
        Assert.Equal(Errno.OK, await Fs.Locks.SetPosixAsync(ino, hostOwner, LockMode.Exclusive, 100, 200, false, 1, CancellationToken.None));

        Assert.Equal(NlmStatus.Denied, await LockAsync(client, fh, "guest-b", 20, offset: 150, length: 1));
        Assert.Equal(NlmStatus.Granted, await UnlockAsync(client, fh, "guest-a", 10));
        Assert.Equal(Errno.OK, await Fs.Locks.SetPosixAsync(ino, hostOwner, LockMode.Exclusive, 50, 60, false, 1, CancellationToken.None));
    }

    [Fact]
    public async Task Test_reports_the_holder_of_a_conflicting_lock()
    {
        var (fh, _, client) = await FileAsync();
        Assert.Equal(NlmStatus.Granted, await LockAsync(client, fh, "guest-a", 33, offset: 10, length: 5));
        var reply = await client.CallAsync(NlmProg, 4, 1, w =>
        {
            w.WriteOpaque([]);
            w.WriteBool(true);
            WriteLock(w, fh, "guest-b", 44, 0, 0);
        });
        var r = reply.Reader();
        r.ReadOpaque(1024);
        Assert.Equal(NlmStatus.Denied, (NlmStatus)r.ReadUInt32());
        Assert.True(r.ReadBool());
        Assert.Equal(33, r.ReadInt32());
        r.ReadOpaque(1024);
        Assert.Equal(10ul, r.ReadUInt64());
        Assert.Equal(5ul, r.ReadUInt64());
    }

    [Fact]
    public async Task A_blocked_lock_is_granted_when_the_holder_lets_go_and_the_client_retry_finds_it_held()
    {
        var (fh, ino, client) = await FileAsync();
        var hostOwner = new LockOwner(Fs.Session, LockDoor.Core, "host", 1);
        Assert.Equal(Errno.OK, await Fs.Locks.SetPosixAsync(ino, hostOwner, LockMode.Exclusive, 0, long.MaxValue, false, 1, CancellationToken.None));
        Assert.Equal(NlmStatus.Blocked, await LockAsync(client, fh, "guest-a", 7, block: true));
        Assert.Equal(Errno.OK, await Fs.Locks.UnlockPosixAsync(ino, hostOwner, 0, long.MaxValue, CancellationToken.None));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await Fs.Locks.SetPosixAsync(ino, hostOwner, LockMode.Shared, 0, 1, false, 1, CancellationToken.None) == Errno.OK)
        {
            await Fs.Locks.UnlockPosixAsync(ino, hostOwner, 0, 1, CancellationToken.None);
            Assert.True(DateTime.UtcNow < deadline, "the blocked NLM lock was never granted");
            await Task.Delay(50);
        }
        Assert.Equal(NlmStatus.Granted, await LockAsync(client, fh, "guest-a", 7, block: true));
    }

    [Fact]
    public async Task Sm_notify_from_a_rebooted_client_frees_its_locks()
    {
        var (fh, ino, client) = await FileAsync();
        Assert.Equal(NlmStatus.Granted, await LockAsync(client, fh, "guest-a", 1));
        await client.CallAsync(NsmProgram.ProgramNumber, 1, 6, w => { w.WriteString("guest-a"); w.WriteInt32(3); });
        var hostOwner = new LockOwner(Fs.Session, LockDoor.Core, "host", 1);
        Assert.Equal(Errno.OK, await Fs.Locks.SetPosixAsync(ino, hostOwner, LockMode.Exclusive, 0, long.MaxValue, false, 1, CancellationToken.None));
    }

    [Fact]
    public async Task Share_reservations_deny_conflicting_access()
    {
        var (fh, _, client) = await FileAsync();
        async Task<NlmStatus> ShareAsync(string caller, uint deny, uint access)
        {
            var reply = await client.CallAsync(NlmProg, 4, 20, w =>
            {
                w.WriteOpaque([]);
                w.WriteString(caller);
                w.WriteOpaque(fh);
                w.WriteOpaque([1]);
                w.WriteUInt32(deny);
                w.WriteUInt32(access);
                w.WriteBool(false);
            });
            var r = reply.Reader();
            r.ReadOpaque(1024);
            return (NlmStatus)r.ReadUInt32();
        }
        Assert.Equal(NlmStatus.Granted, await ShareAsync("win-a", deny: 2, access: 1));
        Assert.Equal(NlmStatus.Denied, await ShareAsync("win-b", deny: 0, access: 2));
        Assert.Equal(NlmStatus.Granted, await ShareAsync("win-b", deny: 0, access: 1));
    }
}

public sealed class NlmGraceTests : NfsServerTest
{
    protected override NfsServerOptions ServerOptions => base.ServerOptions with { GracePeriod = TimeSpan.FromMinutes(5) };

    [Fact]
    public async Task During_the_grace_period_only_reclaims_are_granted()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        var (_, fh) = await CreateAsync(client, root, "f");
        async Task<NlmStatus> LockAsync(bool reclaim)
        {
            var reply = await client.CallAsync(NlmProgram.ProgramNumber, 4, 2, w =>
            {
                w.WriteOpaque([]);
                w.WriteBool(false);
                w.WriteBool(true);
                w.WriteString("guest");
                w.WriteOpaque(fh);
                w.WriteOpaque([1]);
                w.WriteInt32(1);
                w.WriteUInt64(0);
                w.WriteUInt64(0);
                w.WriteBool(reclaim);
                w.WriteInt32(1);
            });
            var r = reply.Reader();
            r.ReadOpaque(1024);
            return (NlmStatus)r.ReadUInt32();
        }
        Assert.Equal(NlmStatus.DeniedGracePeriod, await LockAsync(reclaim: false));
        Assert.Equal(NlmStatus.Granted, await LockAsync(reclaim: true));
    }
}
