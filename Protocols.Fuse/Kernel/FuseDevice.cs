using System.Buffers;

namespace Protocols.Fuse.Kernel;

/// <summary>
/// One open file descriptor on /dev/fuse: the first one is handed to mount(2), the others are clones attached to the
/// same connection so that several threads can read requests. A reply must go to the descriptor its request came from.
/// </summary>
internal sealed unsafe class FuseDevice : IDisposable
{
    public const string Path = "/dev/fuse";

    /// <summary>Most pieces one writev takes (IOV_MAX).</summary>
    public const int MaxVectors = 1024;

    private const int ENOENT = 2;
    private const int EINTR = 4;
    private const int EAGAIN = 11;
    private const int ENODEV = 19;

    private int _fd;

    private FuseDevice(int fd) => _fd = fd;

    public int Fd => _fd;

    /// <summary>Takes over a descriptor opened elsewhere (by fusermount3, which mounted it).</summary>
    public static FuseDevice Adopt(int fd) => new(fd);

    public static FuseDevice Open()
    {
        var fd = Syscalls.Open(Path, Syscalls.O_RDWR | Syscalls.O_CLOEXEC);
        if (fd < 0)
            throw new FuseMountException($"cannot open {Path}: {Syscalls.Describe(Syscalls.LastError)}");
        return new FuseDevice(fd);
    }

    /// <summary>Opens another descriptor and attaches it to this one's connection (FUSE_DEV_IOC_CLONE).</summary>
    public FuseDevice Clone()
    {
        var clone = Open();
        var source = (uint)_fd;
        if (Syscalls.Ioctl(clone._fd, FuseConstants.DevIocClone, &source) != 0)
        {
            var errno = Syscalls.LastError;
            clone.Dispose();
            throw new FuseMountException($"cloning the {Path} descriptor failed: {Syscalls.Describe(errno)}");
        }
        return clone;
    }

    /// <summary>
    /// Blocks until the kernel hands over one whole request; returns its length, or 0 once the connection has ended
    /// (unmounted or aborted). Throws on any other failure.
    /// </summary>
    public int ReadRequest(byte[] buffer)
    {
        while (true)
        {
            nint n;
            fixed (byte* p = buffer)
                n = Syscalls.Read(_fd, p, buffer.Length);
            if (n > 0)
                return (int)n;
            var errno = Syscalls.LastError;
            switch (errno)
            {
                // Interrupted by a signal, or the request was withdrawn by the kernel before we took it: read again.
                case EINTR or ENOENT or EAGAIN:
                    continue;
                case ENODEV:
                    return 0;
                default:
                    if (n == 0)
                        return 0;
                    throw new IOException($"reading {Path} failed: {Syscalls.Describe(errno)}");
            }
        }
    }

    /// <summary>Writes one whole reply or notification; returns 0 or the errno (ENOENT: the request was interrupted and is gone).</summary>
    public int Write(ReadOnlySpan<byte> message)
    {
        while (true)
        {
            nint n;
            fixed (byte* p = message)
                n = Syscalls.Write(_fd, p, message.Length);
            if (n >= 0)
                return 0;
            var errno = Syscalls.LastError;
            if (errno != EINTR)
                return errno;
        }
    }

    /// <summary>
    /// Writes one whole reply gathered from <paramref name="head"/> and the <paramref name="segments"/> behind it (a READ's
    /// data where it lies in the block cache) in one writev; returns 0 or the errno, as <see cref="Write(ReadOnlySpan{byte})"/>.
    /// </summary>
    public int Write(ReadOnlySpan<byte> head, IReadOnlyList<ReadOnlyMemory<byte>> segments)
    {
        var count = segments.Count + 1;
        if (count > MaxVectors)
            throw new ArgumentException($"a reply of {count} pieces is more than writev takes", nameof(segments));
        var pins = ArrayPool<MemoryHandle>.Shared.Rent(segments.Count);
        var vectors = stackalloc Syscalls.IoVector[count];
        try
        {
            fixed (byte* h = head)
            {
                vectors[0] = new Syscalls.IoVector { Base = h, Length = (nuint)head.Length };
                for (var i = 0; i < segments.Count; i++)
                {
                    pins[i] = segments[i].Pin();
                    vectors[i + 1] = new Syscalls.IoVector { Base = pins[i].Pointer, Length = (nuint)segments[i].Length };
                }
                while (true)
                {
                    // The kernel takes a reply whole or not at all, so a written reply is never short.
                    if (Syscalls.WriteVector(_fd, vectors, count) >= 0)
                        return 0;
                    var errno = Syscalls.LastError;
                    if (errno != EINTR)
                        return errno;
                }
            }
        }
        finally
        {
            for (var i = 0; i < segments.Count; i++)
                pins[i].Dispose();
            ArrayPool<MemoryHandle>.Shared.Return(pins, clearArray: true);
        }
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
            Syscalls.Close(fd);
    }
}
