using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Fs.Core.Locks;
using Fs.Core.Vfs;
using Xunit.Abstractions;

namespace Protocols.Nfs.Tests.EndToEnd;

/// <summary>
/// The Linux kernel's own NFSv3 client, in a throwaway VM (../shared/tools/nfs-client-vm). Each VM boot costs seconds,
/// so each test runs one script that makes many checks and prints KEY=value lines the test then asserts on.
/// </summary>
public abstract partial class KernelClientTest(ITestOutputHelper output) : NfsServerTest
{
    /// <summary>The harness: NFS_CLIENT_VM_RUN, else ../shared/tools/nfs-client-vm/run beside the repository.</summary>
    protected static readonly string Harness = Environment.GetEnvironmentVariable("NFS_CLIENT_VM_RUN")
        ?? Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../../shared/tools/nfs-client-vm/run"));

    protected ITestOutputHelper Output { get; } = output;

    protected static void RequireHarness() =>
        Skip.IfNot(File.Exists(Harness), $"the NFS client VM harness is not at {Harness}");

    protected async Task<Dictionary<string, string>> RunGuestAsync(IEnumerable<string> options, string script, TimeSpan timeout)
    {
        var outcome = await ExternalProcess.RunAsync(Harness, [.. options, "--timeout", ((int)timeout.TotalSeconds).ToString(), "--", script], timeout + TimeSpan.FromMinutes(1));
        Output.WriteLine(outcome.Output);
        Assert.True(outcome.ExitCode == 0, $"guest script exited {outcome.ExitCode}:\n{outcome.Output}");
        var values = new Dictionary<string, string>();
        foreach (Match m in KeyValue().Matches(outcome.Output))
            values[m.Groups[1].Value] = m.Groups[2].Value.Trim();
        return values;
    }

    /// <summary>Polls the volume until <paramref name="name"/> exists in the root, as a marker the guest creates.</summary>
    protected async Task WaitForMarkerAsync(string name, Task guest)
    {
        while (!guest.IsCompleted)
        {
            if ((await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, name)).Ok)
                return;
            await Task.Delay(100);
        }
        throw new Xunit.Sdk.XunitException($"the guest ended before it created {name}");
    }

    protected async Task<byte[]> ReadAllAsync(string name)
    {
        var attr = (await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, name)).Value;
        var handle = (await Fs.OpenAsync(Caller.Root, attr.Ino, OpenFlags.ReadOnly)).Value;
        try
        {
            var buffer = new byte[attr.Size];
            var total = 0;
            while (total < buffer.Length)
            {
                var n = (await Fs.ReadAsync(handle, total, buffer.AsMemory(total))).Value;
                if (n == 0)
                    break;
                total += n;
            }
            return buffer[..total];
        }
        finally
        {
            await Fs.ReleaseAsync(handle);
        }
    }

    protected async Task WriteFileAsync(string name, byte[] data)
    {
        var created = (await Fs.CreateAsync(Caller.Root, FsLimits.RootIno, name, 0x1A4, OpenFlags.ReadWrite | OpenFlags.Truncate)).Value;
        await Fs.WriteAsync(created.Handle, 0, data);
        await Fs.ReleaseAsync(created.Handle);
    }

    protected static string Sha(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    [GeneratedRegex(@"^([a-z_0-9]+)=(.*)$", RegexOptions.Multiline)]
    private static partial Regex KeyValue();
}

/// <summary>Mount with explicit ports: data, namespace, permissions, a big directory, silly rename and a server restart.</summary>
public sealed class KernelClientTests(ITestOutputHelper output) : KernelClientTest(output)
{
    private const string Script = """
        echo "hostfile=$(cat from-host.txt)"
        dd if=/dev/urandom of=/tmp/big bs=1M count=100 2>/dev/null
        echo "bigsha=$(sha256sum /tmp/big | cut -d' ' -f1)"
        cp /tmp/big big
        echo 3 > /proc/sys/vm/drop_caches
        echo "bigsha_nfs=$(sha256sum big | cut -d' ' -f1)"
        printf 'MIDDLE' | dd of=big bs=1 seek=52428800 conv=notrunc 2>/dev/null
        printf 'MIDDLE' | dd of=/tmp/big bs=1 seek=52428800 conv=notrunc 2>/dev/null
        echo "midsha=$(sha256sum /tmp/big | cut -d' ' -f1)"
        rm /tmp/big
        echo 3 > /proc/sys/vm/drop_caches
        echo "midsha_nfs=$(sha256sum big | cut -d' ' -f1)"
        truncate -s 1000000 big
        echo "truncsize=$(stat -c %s big)"
        mv big big2
        ln big2 hard
        ln -s big2 soft
        echo "links=$(stat -c %h big2)"
        echo "target=$(readlink soft)"
        echo "renamed_gone=$([ -e big ] && echo no || echo yes)"
        echo secret > secret
        chmod 600 secret
        echo mine > owned
        chown 1000:1000 owned
        chmod 600 owned
        echo "owner=$(stat -c %u:%g owned)"
        echo "mode=$(stat -c %a secret)"
        echo "denied=$(su test -c 'cat secret' >/dev/null 2>&1 && echo no || echo yes)"
        echo "allowed=$(su test -c 'cat owned' 2>&1)"
        echo "create_denied=$(su test -c 'touch rootdir/x' >/dev/null 2>&1 && echo no || echo yes)"
        mkdir -p tree/a/b/c/d
        for i in 1 2 3 4 5 6 7 8 9 10; do echo $i > tree/a/b/c/d/f$i; mkdir tree/a/d$i; done
        echo "treecount=$(find tree | wc -l)"
        rm -rf tree
        echo "treegone=$([ -e tree ] && echo no || echo yes)"
        t0=$(cut -d' ' -f1 /proc/uptime)
        n=$(ls -l many | grep -c '^-')
        t1=$(cut -d' ' -f1 /proc/uptime)
        echo "manycount=$n"
        echo "ls_ms=$(awk "BEGIN { print int(($t1 - $t0) * 1000) }")"
        echo opened > open.txt
        exec 3< open.txt
        rm open.txt
        echo "silly=$(ls -a | grep -c '^\.nfs')"
        echo "openread=$(cat <&3)"
        exec 3<&-
        sleep 1
        echo "silly_after=$(ls -a | grep -c '^\.nfs')"
        dd if=/dev/urandom of=/tmp/r bs=1M count=8 2>/dev/null
        echo "rsha=$(sha256sum /tmp/r | cut -d' ' -f1)"
        exec 4> restart.bin
        cat /tmp/r >&4
        touch restart.go
        sleep 8
        exec 4>&-
        echo 3 > /proc/sys/vm/drop_caches
        echo "rsha_nfs=$(sha256sum restart.bin | cut -d' ' -f1)"
        echo "after_restart=$(cat from-host.txt)"
        echo "bigsize_after_restart=$(stat -c %s big2)"
        """;

    [SkippableFact]
    public async Task The_linux_client_reads_writes_renames_links_lists_and_survives_a_server_restart()
    {
        RequireHarness();
        await WriteFileAsync("from-host.txt", "written through the vfs\n"u8.ToArray());
        var rootDir = (await Fs.MkdirAsync(Caller.Root, FsLimits.RootIno, "rootdir", 0x1ED)).Value;
        Assert.Equal(FileType.Directory, rootDir.Type);
        var many = (await Fs.MkdirAsync(Caller.Root, FsLimits.RootIno, "many", 0x1FF)).Value;
        for (var i = 0; i < 20_000; i++)
            Assert.True((await Fs.MknodAsync(Caller.Root, many.Ino, $"file-{i:D6}", FileType.Regular, 0x1A4)).Ok);

        var port = Server.Port;
        var guest = RunGuestAsync(["--port", port.ToString(), "--mountport", port.ToString()], Script, TimeSpan.FromMinutes(8));
        var restarted = Task.Run(async () =>
        {
            await WaitForMarkerAsync("restart.go", guest);
            await RestartAsync();
        });
        var values = await guest;
        await restarted;

        Assert.Equal("written through the vfs", values["hostfile"]);
        Assert.Equal(values["bigsha"], values["bigsha_nfs"]);
        Assert.Equal(values["midsha"], values["midsha_nfs"]);
        Assert.NotEqual(values["bigsha"], values["midsha"]);
        Assert.Equal("1000000", values["truncsize"]);
        Assert.Equal("2", values["links"]);
        Assert.Equal("big2", values["target"]);
        Assert.Equal("yes", values["renamed_gone"]);
        Assert.Equal("1000:1000", values["owner"]);
        Assert.Equal("600", values["mode"]);
        Assert.Equal("yes", values["denied"]);
        Assert.Equal("mine", values["allowed"]);
        Assert.Equal("yes", values["create_denied"]);
        Assert.Equal("25", values["treecount"]);
        Assert.Equal("yes", values["treegone"]);
        Assert.Equal("20000", values["manycount"]);
        Output.WriteLine($"ls -l of 20,000 files in the guest: {values["ls_ms"]} ms");
        Assert.Equal("1", values["silly"]);
        Assert.Equal("opened", values["openread"]);
        Assert.Equal("0", values["silly_after"]);
        Assert.Equal(values["rsha"], values["rsha_nfs"]);
        Assert.Equal("written through the vfs", values["after_restart"]);
        Assert.Equal("1000000", values["bigsize_after_restart"]);

        // What the guest wrote is what the volume holds.
        Assert.Equal(values["rsha"], Sha(await ReadAllAsync("restart.bin")));
        var big = (await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, "big2")).Value;
        Assert.Equal(1_000_000, big.Size);
        Assert.Equal(2u, big.Nlink);
        Assert.Equal(Errno.ENOENT, (await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, "tree")).Error);
    }
}

/// <summary>
/// Mount with no port options, so the kernel asks the portmapper on port 111, and with NLM locking (--locks), so locks
/// meet the shared lock manager. Needs port 111 free for the appliance's own portmapper.
/// </summary>
public sealed class KernelClientPortmapLockTests(ITestOutputHelper output) : KernelClientTest(output)
{
    protected override NfsServerOptions ServerOptions => base.ServerOptions with { Portmap = true, PortmapPort = 111 };

    private const string Script = """
        echo "mounted=yes"
        lockctl -n locked-by-host w 0 0 > /tmp/l1 2>&1
        echo "fcntl_exit=$?"
        echo "fcntl_out=$(cat /tmp/l1)"
        lockctl -n -f locked-by-host w 0 0 > /tmp/l2 2>&1
        echo "flock_exit=$?"
        lockctl guest.lock w 0 100 20 > /tmp/l3 2>&1 &
        sleep 2
        echo "guest_lock=$(cat /tmp/l3)"
        touch guest-locked.marker
        seq 1 20000 > cross.txt
        touch cross.done
        i=0
        while [ ! -e host-wrote.txt ] && [ $i -lt 60 ]; do sleep 0.5; i=$((i+1)); done
        echo "from_host=$(cat host-wrote.txt)"
        wait
        echo "guest_lock_end=$(cat /tmp/l3 | tail -1)"
        """;

    [SkippableFact]
    public async Task Without_port_options_the_kernel_finds_the_server_and_locks_meet_the_shared_lock_manager()
    {
        RequireHarness();
        Skip.IfNot(Server.PortmapRunning, "port 111 is taken on this host (a system rpcbind?); the appliance's portmapper could not start");
        await WriteFileAsync("locked-by-host", new byte[10]);
        await WriteFileAsync("guest.lock", new byte[10]);
        var locked = (await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, "locked-by-host")).Value.Ino;
        var hostOwner = new LockOwner(Fs.Session, LockDoor.Core, "host-test", 1);
        Assert.Equal(Errno.OK, await Fs.Locks.SetPosixAsync(locked, hostOwner, LockMode.Exclusive, 0, long.MaxValue, false, 1, CancellationToken.None));

        var guest = RunGuestAsync(["--locks", "--opts", "actimeo=0"], Script, TimeSpan.FromMinutes(5));
        var host = Task.Run(async () =>
        {
            await WaitForMarkerAsync("guest-locked.marker", guest);
            var ino = (await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, "guest.lock")).Value.Ino;
            var conflict = await Fs.Locks.TestPosixAsync(ino, hostOwner, LockMode.Exclusive, 0, 100, CancellationToken.None);
            await WaitForMarkerAsync("cross.done", guest);
            var cross = System.Text.Encoding.ASCII.GetString(await ReadAllAsync("cross.txt"));
            await WriteFileAsync("host-wrote.txt", "hello from the host\n"u8.ToArray());
            return (conflict, cross);
        });
        var values = await guest;
        var (seen, crossText) = await host;

        Assert.Equal("yes", values["mounted"]);
        Assert.Equal("1", values["fcntl_exit"]);
        Assert.Contains("busy", values["fcntl_out"]);
        Assert.Equal("1", values["flock_exit"]);
        Assert.Contains("locked", values["guest_lock"]);
        Assert.True(seen.Ok);
        Assert.NotNull(seen.Value);
        Assert.Equal(LockDoor.Nfs, seen.Value.Owner.Door);
        Assert.Equal(string.Join("\n", Enumerable.Range(1, 20000)) + "\n", crossText);
        Assert.Equal("hello from the host", values["from_host"]);
    }
}
