using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Protocols.Fuse.Kernel;

namespace Protocols.Fuse;

/// <summary>
/// The volume mounted through the kernel's FUSE: mounts on start, serves requests on several reader threads, keeps
/// the kernel's caches coherent with changes made through the other doors, and unmounts on stop.
/// </summary>
public sealed class FuseMount : IAsyncDisposable
{
    private readonly FileSystem _fs;
    private readonly FuseMountOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private FuseChannel? _channel;
    private FuseOperations? _operations;
    private FuseNotifier? _notifier;
    private string? _device;

    public FuseMount(FileSystem fs, FuseMountOptions options, ILoggerFactory? loggerFactory = null)
    {
        _fs = fs;
        _options = options with { MountPoint = Path.GetFullPath(options.MountPoint) };
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<FuseMount>();
    }

    public string MountPoint => _options.MountPoint;

    public bool IsMounted => _channel is not null;

    /// <summary>True when start found a dead mount left by a crashed run on the mount point and cleared it.</summary>
    public bool RecoveredStaleMount { get; private set; }

    /// <summary>What INIT settled with the kernel (null until started).</summary>
    public FuseConnectionInfo? Connection => _channel?.Info;

    /// <summary>Inodes the kernel currently holds, with their lookup counts.</summary>
    internal InodeLookupTable? Inodes => _operations?.Inodes;

    /// <summary>Whether this process can mount FUSE directly; <paramref name="reason"/> says why not.</summary>
    public static bool IsSupported(out string reason)
    {
        if (!OperatingSystem.IsLinux())
            reason = "FUSE mounts need Linux";
        else if (!File.Exists(FuseDevice.Path))
            reason = $"{FuseDevice.Path} is missing (load the fuse module, or give the container --device /dev/fuse)";
        else if (!FuseKernelMount.Privileged && Fusermount.Find() is null)
            reason = "mounting FUSE without root needs fusermount3 (Debian package fuse3)";
        else if (!FuseKernelMount.Privileged && Syscalls.Access(FuseDevice.Path, Syscalls.R_OK | Syscalls.W_OK) != 0)
            reason = $"{FuseDevice.Path} is not readable and writable by this user (distributions make it mode 0666)";
        else
        {
            reason = "";
            return true;
        }
        return false;
    }

    /// <summary>Mounts and returns once the kernel has finished INIT, so the mount point is usable at once.</summary>
    public async Task StartAsync(CancellationToken ct = default)
    {
        await _lifecycle.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_channel is not null)
                return;
            if (!IsSupported(out var reason))
                throw new FuseMountException($"cannot mount {MountPoint}: {reason}");
            RecoveredStaleMount = FuseKernelMount.PrepareMountPoint(MountPoint);
            if (RecoveredStaleMount)
                _logger.LogWarning("{MountPoint} was a dead FUSE mount left by a crashed run; detached it and mounting again", MountPoint);

            var readers = Math.Clamp(_options.Readers, 1, 16);
            var master = FuseKernelMount.Mount(MountPoint, _options.MaxWrite, _options.AllowOther, _options.DefaultPermissions, _options.InitTimeout);
            var channel = new FuseChannel(master, _options.MaxWrite, readers, _logger);
            try
            {
                var wanted = new FuseInitRequest { MaxWrite = _options.MaxWrite };
                // INIT is one blocking read(2) on /dev/fuse: give it a thread of its own rather than a pool thread.
                var info = await Task.Factory.StartNew(() => channel.Initialize(wanted), CancellationToken.None,
                    TaskCreationOptions.LongRunning, TaskScheduler.Default).WaitAsync(_options.InitTimeout, ct).ConfigureAwait(false);
                var operations = new FuseOperations(_fs, _options, _logger);
                // Every request is served under this mount's door mark, so the core's change notices for changes made
                // through the mount are recognised and not echoed back to a kernel that already knows them.
                channel.Start(readers, operations, () => FileSystem.EnterDoor(this));
                _operations = operations;
                _notifier = new FuseNotifier(channel, _logger);
                _device = FuseKernelMount.MountDevice(MountPoint);
                _channel = channel;
                _fs.Changed += OnChanged;
                _logger.LogInformation("mounted on {MountPoint}: FUSE 7.{Minor}, max write {MaxWrite} bytes, {Readers} readers",
                    MountPoint, info.Minor, info.MaxWrite, readers);
            }
            catch (Exception e)
            {
                // Unmounting ends the connection, which also wakes a reader still waiting for INIT.
                TryUnmount();
                channel.Dispose();
                if (e is FuseMountException)
                    throw;
                throw new FuseMountException($"the kernel did not complete the FUSE handshake on {MountPoint}: {e.Message}", e);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Unmounts (lazily if busy), waits for the readers and in-flight requests, and releases what is still open.</summary>
    public async Task StopAsync(CancellationToken ct = default)
    {
        await _lifecycle.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var channel = _channel;
            if (channel is null)
                return;
            _fs.Changed -= OnChanged;
            if (!TryUnmount())
            {
                // Detached but still in use: end the connection so the readers return and users see ENOTCONN.
                var aborted = _device is not null && FuseKernelMount.Abort(_device);
                _logger.LogWarning("{MountPoint} was busy; detached it lazily{Aborted}", MountPoint, aborted ? " and aborted the connection" : "");
            }
            try
            {
                await channel.Completion.WaitAsync(TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _logger.LogError("FUSE readers on {MountPoint} did not stop within 30 s", MountPoint);
            }
            await _operations!.ReleaseAllAsync(ct).ConfigureAwait(false);
            _notifier!.Dispose();
            channel.Dispose();
            _channel = null;
            _notifier = null;
            _operations = null;
            _logger.LogInformation("unmounted {MountPoint}", MountPoint);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _lifecycle.Dispose();
    }

    /// <summary>Drops the kernel's cached attributes of an inode and its cached pages in [offset, offset+length) (length 0: to end; offset -1: attributes only).</summary>
    public void InvalidateInode(ulong ino, long offset, long length)
    {
        if (_notifier is { } notifier && Knows(ino))
            notifier.Send(FuseNotifyCode.InvalInode, FuseNotifications.InvalInode(ino, offset, length), _options.InvalidationWait);
    }

    /// <summary>Drops the kernel's cached lookup of <paramref name="name"/> in <paramref name="parent"/> (a name that appeared or went).</summary>
    public void InvalidateEntry(ulong parent, string name)
    {
        if (_notifier is { } notifier && Knows(parent))
            notifier.Send(FuseNotifyCode.InvalEntry, FuseNotifications.InvalEntry(parent, name), _options.InvalidationWait);
    }

    /// <summary>Tells the kernel <paramref name="name"/> in <paramref name="parent"/>, naming <paramref name="child"/>, was removed.</summary>
    public void NotifyDelete(ulong parent, ulong child, string name)
    {
        if (_notifier is not { } notifier || !Knows(parent))
            return;
        // The kernel refuses DELETE when its dentry names another inode by now; dropping the entry is then the answer.
        notifier.Send(FuseNotifyCode.Delete, FuseNotifications.Delete(parent, child, name), _options.InvalidationWait,
            FuseNotifyCode.InvalEntry, FuseNotifications.InvalEntry(parent, name));
    }

    private bool Knows(ulong ino) => _operations?.Inodes.Knows(ino) ?? false;

    private void OnChanged(ChangeNotice change)
    {
        if (ReferenceEquals(change.Origin, this))
            return;
        switch (change.Kind)
        {
            case ChangeKind.Attributes:
                InvalidateInode(change.Ino, -1, 0);
                break;
            case ChangeKind.Data:
                InvalidateInode(change.Ino, change.Offset, change.Length);
                break;
            case ChangeKind.EntryAdded when change.Name is not null:
                InvalidateEntry(change.Parent, change.Name);
                break;
            case ChangeKind.EntryRemoved when change.Name is not null:
                if (change.Ino != 0)
                    NotifyDelete(change.Parent, change.Ino, change.Name);
                else
                    InvalidateEntry(change.Parent, change.Name);
                break;
        }
    }

    /// <summary>Unmounts; false when the mount was busy and had to be detached lazily.</summary>
    private bool TryUnmount()
    {
        try
        {
            return FuseKernelMount.Unmount(MountPoint);
        }
        catch (FuseMountException e)
        {
            _logger.LogError("{Error}", e.Message);
            return false;
        }
    }
}
