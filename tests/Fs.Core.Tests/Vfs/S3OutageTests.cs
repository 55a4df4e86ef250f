using System.Buffers.Binary;
using System.Diagnostics;
using Fs.Core.Tests.Objects;
using Fs.Core.Vfs;
using Xunit.Abstractions;

namespace Fs.Core.Tests.Vfs;

/// <summary>The object store goes away under write load: the file system must wait or fail cleanly, and lose nothing it acknowledged.</summary>
public sealed class S3OutageTests(S3rverServer server, ITestOutputHelper output) : IClassFixture<S3rverServer>
{
    private const int Writers = 3;
    private const int Piece = 128 * 1024;
    private const int PiecesPerFsync = 4;
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task StoppingS3rverForTenSecondsUnderWritesLosesNothingThatWasFsynced()
    {
        var dir = Path.Combine(Path.GetTempPath(), "appliance-outage-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var metaUrl = $"sqlite://{dir}/meta.db";
            await FileSystem.FormatAsync(new FormatOptions
            {
                Name = "outage",
                MetaUrl = metaUrl,
                StorageUrl = server.StorageUrl(Path.GetFileName(dir)),
                BlockSize = 256 * 1024,
            });
            var options = new FileSystemOptions
            {
                MetaUrl = metaUrl,
                // A small write buffer makes writers feel the outage at once instead of buffering through it.
                WriteBufferBytes = 8L << 20,
                UploadConcurrency = 4,
                MemoryCacheBytes = 16L << 20,
            };

            var writers = new WriterState[Writers];
            await using (var fs = await FileSystem.OpenAsync(options))
            {
                using var stop = new CancellationTokenSource();
                var tasks = new Task[Writers];
                for (var i = 0; i < Writers; i++)
                {
                    var (attr, handle) = (await fs.CreateAsync(Caller.Root, FsLimits.RootIno, $"w{i}", 0b110_100_100, OpenFlags.ReadWrite)).Value;
                    writers[i] = new WriterState(i, attr.Ino, handle);
                    tasks[i] = WriteUntilStoppedAsync(fs, writers[i], stop.Token);
                }

                await Task.Delay(TimeSpan.FromSeconds(2));
                var ackedBeforeOutage = writers.Select(w => w.Acked).ToArray();
                await server.StopAsync();
                var outageStarted = Stopwatch.GetTimestamp();
                await Task.Delay(Outage);
                await server.StartAsync();
                var restarted = Stopwatch.GetElapsedTime(outageStarted);
                await Task.Delay(TimeSpan.FromSeconds(4));
                stop.Cancel();
                await Task.WhenAll(tasks);

                foreach (var w in writers)
                {
                    output.WriteLine($"w{w.Index}: fsynced {w.Acked} bytes ({ackedBeforeOutage[w.Index]} before the outage), longest fsync {w.LongestFsync.TotalSeconds:F1} s, error {w.Error}");
                    Assert.Equal(Errno.OK, await fs.ReleaseAsync(w.Handle));
                }
                // The store retries for longer than the outage lasted, so writers waited (rather than failing with EIO)
                // and went on afterwards.
                Assert.All(writers, w => Assert.True(w.Error is null, $"w{w.Index} failed with {w.Error}"));
                Assert.Contains(writers, w => w.LongestFsync > restarted / 2);
                Assert.All(writers, w => Assert.True(w.Acked > ackedBeforeOutage[w.Index], $"w{w.Index} made no progress after the restart"));
            }

            // A new process's view: nothing in memory, every byte from S3.
            await using (var fs = await FileSystem.OpenAsync(options))
            {
                foreach (var w in writers)
                {
                    var handle = (await fs.OpenAsync(Caller.Root, w.Ino, OpenFlags.ReadOnly)).Value;
                    var buffer = new byte[Piece];
                    for (long offset = 0; offset < w.Acked; offset += Piece)
                    {
                        var read = (await fs.ReadAsync(handle, offset, buffer)).Value;
                        Assert.Equal(Piece, read);
                        Assert.True(buffer.AsSpan().SequenceEqual(Content(w.Index, offset)), $"w{w.Index} differs in the piece at {offset}");
                    }
                    Assert.Equal(Errno.OK, await fs.ReleaseAsync(handle));
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task WriteUntilStoppedAsync(FileSystem fs, WriterState w, CancellationToken stop)
    {
        for (long offset = 0, piece = 1; !stop.IsCancellationRequested; offset += Piece, piece++)
        {
            var written = await fs.WriteAsync(w.Handle, offset, Content(w.Index, offset));
            if (!written.Ok)
            {
                w.Error = written.Error;
                return;
            }
            if (piece % PiecesPerFsync != 0)
                continue;
            var clock = Stopwatch.StartNew();
            var synced = await fs.FsyncAsync(w.Handle);
            if (synced != Errno.OK)
            {
                w.Error = synced;
                return;
            }
            if (clock.Elapsed > w.LongestFsync)
                w.LongestFsync = clock.Elapsed;
            w.Acked = offset + Piece;
        }
    }

    /// <summary>Random bytes that also carry their own file and offset, so a piece read from the wrong place is caught.</summary>
    private static byte[] Content(int writer, long offset)
    {
        var data = new byte[Piece];
        new Random(HashCode.Combine(writer, offset)).NextBytes(data);
        BinaryPrimitives.WriteInt64LittleEndian(data, offset);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(8), writer);
        return data;
    }

    private sealed class WriterState(int index, ulong ino, FileHandle handle)
    {
        public int Index { get; } = index;
        public ulong Ino { get; } = ino;
        public FileHandle Handle { get; } = handle;
        public long Acked { get; set; }
        public TimeSpan LongestFsync { get; set; }
        public Errno? Error { get; set; }
    }
}
