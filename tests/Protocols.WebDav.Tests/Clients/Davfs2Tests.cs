using System.Security.Cryptography;
using Fs.Core.Vfs;
using Xunit.Abstractions;

namespace Protocols.WebDav.Tests.Clients;

/// <summary>The Linux davfs2 client (Debian package davfs2) mounting the server: a tree and a large file copied in and out, renamed and deleted.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class Davfs2Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Minutes = TimeSpan.FromMinutes(5);

    /// <summary>A cache directory the davfs2 user can write (chmod after creation, as the umask would narrow the mode).</summary>
    private static void CreateCache(string work)
    {
        var cache = Directory.CreateDirectory(Path.Combine(work, "cache")).FullName;
        File.SetUnixFileMode(cache, (UnixFileMode)0x1FF);
    }

    [SkippableFact]
    public async Task Davfs2_copies_a_tree_and_a_large_file_in_and_out_renames_and_deletes()
    {
        Skip.IfNot(File.Exists("/usr/sbin/mount.davfs"), "davfs2 is not installed (Debian package davfs2; .ci/run installs it)");
        Skip.IfNot(Environment.UserName == "root" && File.Exists("/dev/fuse"), "mounting davfs2 needs root and /dev/fuse");
        await using var dav = await DavServer.StartAsync();
        var work = Directory.CreateTempSubdirectory("davfs2-").FullName;
        // mount.davfs drops to its own user (davfs2), which must reach its cache directory.
        File.SetUnixFileMode(work, (UnixFileMode)0x1ED);
        var mount = Directory.CreateDirectory(Path.Combine(work, "mnt")).FullName;
        var conf = Path.Combine(work, "davfs2.conf");
        // Linux 6.16 and later give davfs2 EINVAL on readdir with its default buffer size.
        await File.WriteAllTextAsync(conf, $"buf_size 64\ncache_dir {Path.Combine(work, "cache")}\nbackup_dir lost+found\nask_auth 0\nuse_locks 1\n");
        try
        {
            var source = Path.Combine(work, "tree");
            for (var i = 0; i < 200; i++)
            {
                var dir = Directory.CreateDirectory(Path.Combine(source, $"d{i % 10}")).FullName;
                await File.WriteAllBytesAsync(Path.Combine(dir, $"file-{i}.bin"), RandomNumberGenerator.GetBytes(100 + i * 97));
            }
            var big = Path.Combine(work, "big.bin");
            await using (var stream = File.Create(big))
                for (var i = 0; i < 100; i++)
                    await stream.WriteAsync(RandomNumberGenerator.GetBytes(1 << 20));
            var bigHash = Convert.ToHexString(await SHA256.HashDataAsync(File.OpenRead(big)));

            CreateCache(work);
            output.WriteLine(await ExternalProcess.CheckAsync("/usr/sbin/mount.davfs", [dav.BaseUri.ToString(), mount, "-o", $"conf={conf}"], Minutes, "\n\n"));
            try
            {
                await ExternalProcess.CheckAsync("/bin/cp", ["-r", source, Path.Combine(mount, "tree")], Minutes);
                await ExternalProcess.CheckAsync("/bin/cp", [big, Path.Combine(mount, "big.bin")], Minutes);
                await ExternalProcess.CheckAsync("/usr/bin/diff", ["-r", source, Path.Combine(mount, "tree")], Minutes);
                await ExternalProcess.CheckAsync("/bin/mv", [Path.Combine(mount, "tree", "d3"), Path.Combine(mount, "tree", "renamed")], Minutes);
                await ExternalProcess.CheckAsync("/bin/rm", ["-r", Path.Combine(mount, "tree", "d4")], Minutes);
            }
            finally
            {
                // Unmounting waits until davfs2 has uploaded every file it still holds.
                output.WriteLine(await ExternalProcess.CheckAsync("/bin/umount", [mount], Minutes));
            }

            // What davfs2 wrote is in the volume, as the other doors see it.
            Assert.Equal(Errno.ENOENT, (await dav.LookupAsync("/tree/d3")).Error);
            Assert.Equal(Errno.ENOENT, (await dav.LookupAsync("/tree/d4")).Error);
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(source, "d3", "file-3.bin")), await dav.ReadAsync("/tree/renamed/file-3.bin"));
            Assert.Equal(bigHash, Convert.ToHexString(SHA256.HashData(await dav.ReadAsync("/big.bin"))));

            // Mounted again with an empty cache, the tree and the big file come back out intact.
            Directory.Delete(Path.Combine(work, "cache"), recursive: true);
            CreateCache(work);
            output.WriteLine(await ExternalProcess.CheckAsync("/usr/sbin/mount.davfs", [dav.BaseUri.ToString(), mount, "-o", $"conf={conf}"], Minutes, "\n\n"));
            try
            {
                var back = Path.Combine(work, "back");
                await ExternalProcess.CheckAsync("/bin/cp", ["-r", Path.Combine(mount, "tree"), back], Minutes);
                Directory.Move(Path.Combine(source, "d3"), Path.Combine(source, "renamed"));
                Directory.Delete(Path.Combine(source, "d4"), recursive: true);
                await ExternalProcess.CheckAsync("/usr/bin/diff", ["-r", source, back], Minutes);
                var copied = Path.Combine(work, "big-back.bin");
                await ExternalProcess.CheckAsync("/bin/cp", [Path.Combine(mount, "big.bin"), copied], Minutes);
                Assert.Equal(bigHash, Convert.ToHexString(await SHA256.HashDataAsync(File.OpenRead(copied))));
            }
            finally
            {
                await ExternalProcess.CheckAsync("/bin/umount", [mount], Minutes);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
