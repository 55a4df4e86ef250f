using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Protocols.Fuse.Kernel;

/// <summary>The bodies of the cache notifications, encoded as the kernel reads them.</summary>
internal static class FuseNotifications
{
    public static byte[] InvalInode(ulong ino, long offset, long length)
    {
        var body = new byte[Marshal.SizeOf<FuseNotifyInvalInodeOut>()];
        MemoryMarshal.Write(body, new FuseNotifyInvalInodeOut { Ino = ino, Off = offset, Len = length });
        return body;
    }

    public static byte[] InvalEntry(ulong parent, string name)
    {
        var nameLength = Encoding.UTF8.GetByteCount(name);
        var head = Marshal.SizeOf<FuseNotifyInvalEntryOut>();
        var body = new byte[head + nameLength + 1];
        MemoryMarshal.Write(body, new FuseNotifyInvalEntryOut { Parent = parent, NameLen = (uint)nameLength });
        Encoding.UTF8.GetBytes(name, body.AsSpan(head));
        return body;
    }

    public static byte[] Delete(ulong parent, ulong child, string name)
    {
        var nameLength = Encoding.UTF8.GetByteCount(name);
        var head = Marshal.SizeOf<FuseNotifyDeleteOut>();
        var body = new byte[head + nameLength + 1];
        MemoryMarshal.Write(body, new FuseNotifyDeleteOut { Parent = parent, Child = child, NameLen = (uint)nameLength });
        Encoding.UTF8.GetBytes(name, body.AsSpan(head));
        return body;
    }
}

/// <summary>
/// Writes notifications from one dedicated thread. The kernel may block a notification on an inode or page lock held
/// by a request that is itself waiting for the file system, so the thread that made a change never writes the
/// notification itself: it queues it and waits at most a bounded time for it to be written.
/// </summary>
internal sealed class FuseNotifier : IDisposable
{
    private const int ENOENT = 2;

    private readonly FuseChannel _channel;
    private readonly ILogger _logger;
    private readonly BlockingCollection<Notification> _queue = new();
    private readonly Thread _thread;

    public FuseNotifier(FuseChannel channel, ILogger logger)
    {
        _channel = channel;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "fuse-notifier" };
        _thread.Start();
    }

    /// <summary>Queues a notification and waits up to <paramref name="wait"/> for the kernel to take it. Fallback is sent if the first is refused.</summary>
    public void Send(FuseNotifyCode code, byte[] body, TimeSpan wait, FuseNotifyCode fallbackCode = 0, byte[]? fallbackBody = null)
    {
        using var done = wait > TimeSpan.Zero ? new ManualResetEventSlim() : null;
        try
        {
            _queue.Add(new Notification(code, body, fallbackCode, fallbackBody, done));
        }
        catch (InvalidOperationException)
        {
            return; // stopping: the mount is going away with its caches
        }
        done?.Wait(wait);
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        _thread.Join();
        _queue.Dispose();
    }

    private void Run()
    {
        foreach (var n in _queue.GetConsumingEnumerable())
        {
            try
            {
                var errno = _channel.Notify(n.Code, n.Body);
                if (errno != 0 && n.FallbackBody is not null)
                    errno = _channel.Notify(n.FallbackCode, n.FallbackBody);
                // ENOENT: the kernel holds nothing for that inode or name, which is the goal anyway.
                if (errno != 0 && errno != ENOENT)
                    _logger.LogDebug("FUSE notification {Code} refused: errno {Errno}", n.Code, errno);
            }
            finally
            {
                try
                {
                    n.Done?.Set();
                }
                catch (ObjectDisposedException)
                {
                    // The sender stopped waiting and went on.
                }
            }
        }
    }

    private sealed record Notification(FuseNotifyCode Code, byte[] Body, FuseNotifyCode FallbackCode, byte[]? FallbackBody, ManualResetEventSlim? Done);
}
