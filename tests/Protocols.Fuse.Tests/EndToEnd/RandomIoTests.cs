using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Xunit.Abstractions;

namespace Protocols.Fuse.Tests.EndToEnd;

/// <summary>fsx-style: random reads, writes, truncates, fallocate, punched holes and mmap through the mount, checked against a byte model.</summary>
public sealed partial class RandomIoTests(MountedVolume volume, ITestOutputHelper output) : IClassFixture<MountedVolume>
{
    private static readonly int Operations = Environment.GetEnvironmentVariable("FSX_OPS") is { } n ? int.Parse(n) : 10_000;
    private const int MaxSize = 4 << 20;
    private const int FALLOC_FL_KEEP_SIZE = 1;
    private const int FALLOC_FL_PUNCH_HOLE = 2;

    private const int PROT_READ = 1;
    private const int PROT_WRITE = 2;
    private const int MAP_SHARED = 1;
    private const int MS_SYNC = 4;

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    private static partial int Fallocate(SafeFileHandle fd, int mode, long offset, long length);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint address, nint length, int protection, int flags, SafeFileHandle fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(nint address, nint length);

    [LibraryImport("libc", EntryPoint = "msync")]
    private static partial int Msync(nint address, nint length, int flags);

    // The mapped pages are touched only inside memcpy, in native code. A managed thread faulting on a page of this
    // process's own FUSE mount would be in cooperative mode, and a GC started meanwhile would wait for it forever while
    // the fault waits for a READ that this process can no longer answer.
    [LibraryImport("libc", EntryPoint = "memcpy")]
    private static unsafe partial void* Memcpy(void* destination, void* source, nint length);

    [FuseFact]
    public async Task Ten_thousand_random_operations_agree_with_the_model()
    {
        var seed = Environment.GetEnvironmentVariable("FSX_SEED") is { } s ? int.Parse(s) : Random.Shared.Next();
        output.WriteLine($"fsx seed {seed} (rerun with FSX_SEED={seed})");
        var path = Path.Combine(volume.NewDirectory("fsx"), "file");
        // The file is driven from a thread of its own: every call blocks until the mount, in this process, answers.
        await Task.Factory.StartNew(() => Run(path, seed), TaskCreationOptions.LongRunning);
    }

    private void Run(string path, int seed)
    {
        var random = new Random(seed);
        var model = new byte[MaxSize];
        var size = 0;
        var file = Open(path);
        try
        {
            for (var op = 0; op < Operations; op++)
            {
                var kind = random.Next(100);
                var offset = random.Next(MaxSize);
                var length = Math.Min(random.Next(1, 256 * 1024), MaxSize - offset);
                var what = "";
                if (kind < 30)
                {
                    what = $"write {offset}+{length}";
                    var data = new byte[length];
                    random.NextBytes(data);
                    RandomAccess.Write(file.SafeFileHandle, data, offset);
                    data.CopyTo(model, offset);
                    size = Math.Max(size, offset + length);
                }
                else if (kind < 60)
                {
                    what = $"read {offset}+{length}";
                    var buffer = new byte[length];
                    var n = RandomAccess.Read(file.SafeFileHandle, buffer, offset);
                    var expected = Math.Max(0, Math.Min(length, size - offset));
                    Check(n == expected, seed, op, what, $"read {n} bytes, expected {expected}");
                    Check(buffer.AsSpan(0, n).SequenceEqual(model.AsSpan(offset, n)), seed, op, what, "data differs");
                }
                else if (kind < 68)
                {
                    var newSize = random.Next(MaxSize);
                    what = $"truncate {newSize}";
                    file.SetLength(newSize);
                    if (newSize < size)
                        Array.Clear(model, newSize, size - newSize);
                    size = newSize;
                }
                else if (kind < 76)
                {
                    what = $"punch {offset}+{length}";
                    Check(Fallocate(file.SafeFileHandle, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length) == 0,
                        seed, op, what, $"fallocate failed: errno {Marshal.GetLastPInvokeError()}");
                    if (offset < size)
                        Array.Clear(model, offset, Math.Min(length, size - offset));
                }
                else if (kind < 80)
                {
                    what = $"fallocate {offset}+{length}";
                    Check(Fallocate(file.SafeFileHandle, 0, offset, length) == 0, seed, op, what, $"fallocate failed: errno {Marshal.GetLastPInvokeError()}");
                    size = Math.Max(size, offset + length);
                }
                else if (kind < 88 && size > 0)
                {
                    offset = random.Next(size);
                    length = Math.Min(length, size - offset);
                    what = $"mmap write {offset}+{length}";
                    var data = new byte[length];
                    random.NextBytes(data);
                    Check(Mapped(file.SafeFileHandle, offset, data, write: true), seed, op, what, $"mmap failed: errno {Marshal.GetLastPInvokeError()}");
                    data.CopyTo(model, offset);
                }
                else if (kind < 96 && size > 0)
                {
                    offset = random.Next(size);
                    length = Math.Min(length, size - offset);
                    what = $"mmap read {offset}+{length}";
                    var buffer = new byte[length];
                    Check(Mapped(file.SafeFileHandle, offset, buffer, write: false), seed, op, what, $"mmap failed: errno {Marshal.GetLastPInvokeError()}");
                    Check(buffer.AsSpan().SequenceEqual(model.AsSpan(offset, length)), seed, op, what, "mapped data differs");
                }
                else
                {
                    what = "close and reopen";
                    file.Dispose();
                    file = Open(path);
                }
                Check(new FileInfo(path).Length == size, seed, op, what, $"size {new FileInfo(path).Length}, expected {size}");
            }
        }
        finally
        {
            file.Dispose();
        }
        var final = File.ReadAllBytes(path);
        Check(final.AsSpan().SequenceEqual(model.AsSpan(0, size)), seed, Operations, "final read", "contents differ");
    }

    /// <summary>Copies between <paramref name="data"/> and a shared mapping of the file at <paramref name="offset"/>, msync'ing writes.</summary>
    private static unsafe bool Mapped(SafeFileHandle fd, long offset, byte[] data, bool write)
    {
        var aligned = offset & ~4095L;
        var delta = (nint)(offset - aligned);
        var length = delta + data.Length;
        var map = Mmap(0, length, write ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, aligned);
        if (map == -1)
            return false;
        try
        {
            fixed (byte* p = data)
            {
                if (write)
                {
                    Memcpy((void*)(map + delta), p, data.Length);
                    return Msync(map, length, MS_SYNC) == 0;
                }
                Memcpy(p, (void*)(map + delta), data.Length);
                return true;
            }
        }
        finally
        {
            Munmap(map, length);
        }
    }

    private static FileStream Open(string path) =>
        new(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);

    private static void Check(bool ok, int seed, int op, string what, string problem)
    {
        if (!ok)
            Assert.Fail($"seed {seed}, operation {op} ({what}): {problem}");
    }
}
