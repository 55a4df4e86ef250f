using Fs.Core.Tests.Vfs;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Meta.Redis;

/// <summary>Where a volume's keys end up on a cluster and behind a sentinel: one slot, and the sentinel's master.</summary>
public sealed class RedisTopologyTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("redis-topology-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task On_a_cluster_every_key_of_a_volume_lives_in_the_slot_of_its_hash_tag()
    {
        var prefix = "cluster-" + Guid.NewGuid().ToString("N")[..8];
        await using (var fs = await RedisVolume.OpenAsync(_dir, 4 << 20, 64, await RedisTopology.ClusterUrlAsync(prefix)))
            await WriteSomethingAsync(fs);

        var nodes = await RedisTopology.ClusterAsync();
        var slot = int.Parse(Value(await nodes[0].CommandAsync($"CLUSTER KEYSLOT {{{prefix}}}")));
        long inSlot = 0, withPrefix = 0;
        foreach (var node in nodes)
        {
            inSlot += long.Parse(Value(await node.CommandAsync($"CLUSTER COUNTKEYSINSLOT {slot}")));
            withPrefix += CountKeys(await node.CommandAsync($"KEYS {{{prefix}}}*"));
        }
        Assert.True(withPrefix > 5, $"only {withPrefix} keys of the volume were found");
        Assert.Equal(withPrefix, inSlot);
    }

    [Fact]
    public async Task Through_a_sentinel_the_volume_is_kept_on_the_master_it_names()
    {
        var prefix = "sentinel-" + Guid.NewGuid().ToString("N")[..8];
        await using (var fs = await RedisVolume.OpenAsync(_dir, 4 << 20, 64, await RedisTopology.SentinelUrlAsync(prefix)))
            await WriteSomethingAsync(fs);
        var master = await RedisTopology.SentinelMasterAsync();
        Assert.True(CountKeys(await master.CommandAsync($"KEYS {{{prefix}}}*")) > 5);
    }

    private static async Task WriteSomethingAsync(FileSystem fs)
    {
        var dir = (await fs.MkdirAsync(Caller.Root, FsLimits.RootIno, "d", 0x1ED)).Value;
        var file = (await fs.CreateAsync(Caller.Root, dir.Ino, "f", 0x1A4, OpenFlags.ReadWrite)).Value;
        await fs.WriteAsync(file.Handle, 0, new byte[10_000]);
        await fs.ReleaseAsync(file.Handle);
        Assert.Equal(Errno.OK, await fs.RenameAsync(Caller.Root, dir.Ino, "f", FsLimits.RootIno, "g", RenameFlags.None));
    }

    /// <summary>The integer of a RESP ":n" reply.</summary>
    private static string Value(string reply) => reply.TrimStart(':').Trim();

    /// <summary>The element count of a RESP array reply ("*n").</summary>
    private static long CountKeys(string reply) => long.Parse(reply[1..reply.IndexOf('\r')]);
}
