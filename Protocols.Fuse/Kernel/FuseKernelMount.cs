namespace Protocols.Fuse.Kernel;

/// <summary>
/// Mounting and unmounting a FUSE file system — mount(2) and umount2(2) as root, fusermount3 otherwise — and the
/// recovery of a mount point left by a crashed process.
/// </summary>
internal static class FuseKernelMount
{
    private const int ENOENT = 2;
    private const int EINVAL = 22;
    private const int EBUSY = 16;
    private const int ENOTCONN = 107;
    private const int ECONNABORTED = 103;

    /// <summary>The data string of mount(2) for a connection on <paramref name="fd"/>.</summary>
    public static string MountData(int fd, uint uid, uint gid, int maxRead, bool allowOther, bool defaultPermissions) =>
        $"fd={fd},rootmode=40000,user_id={uid},group_id={gid}," + CommonOptions(maxRead, allowOther, defaultPermissions);

    /// <summary>The options both ways of mounting pass on: max_read, and allow_other / default_permissions when asked for.</summary>
    public static string CommonOptions(int maxRead, bool allowOther, bool defaultPermissions) =>
        $"max_read={maxRead}" + (allowOther ? ",allow_other" : "") + (defaultPermissions ? ",default_permissions" : "");

    /// <summary>
    /// Makes <paramref name="path"/> ready to be mounted on: lazily unmounts a dead FUSE mount (ENOTCONN or ECONNABORTED) left by a
    /// crashed run, creates a missing directory, and refuses anything that is not an empty directory.
    /// Returns true when a stale mount was removed.
    /// </summary>
    public static bool PrepareMountPoint(string path)
    {
        var recovered = false;
        if (Syscalls.Access(path, Syscalls.F_OK) != 0)
        {
            var errno = Syscalls.LastError;
            // A server that died leaves ENOTCONN; one whose connection was aborted (fusectl abort) leaves ECONNABORTED.
            if (errno is ENOTCONN or ECONNABORTED)
            {
                if (DetachLazily(path) is { } failure)
                    throw new FuseMountException($"{path} is a dead FUSE mount ({Syscalls.Describe(errno)}) and unmounting it failed: {failure}");
                recovered = true;
            }
            else if (errno == ENOENT)
            {
                Directory.CreateDirectory(path);
            }
            else
            {
                throw new FuseMountException($"mount point {path} cannot be reached: {Syscalls.Describe(errno)}");
            }
        }
        if (File.Exists(path))
            throw new FuseMountException($"mount point {path} is a file, not a directory");
        if (!Directory.Exists(path))
            throw new FuseMountException($"mount point {path} is not a directory");
        if (IsMountPoint(path))
            throw new FuseMountException($"{path} is already a mount point; unmount it first or choose another directory");
        if (Directory.EnumerateFileSystemEntries(path).Any())
            throw new FuseMountException($"mount point {path} is not empty; FUSE would hide its contents, so choose an empty directory");
        return recovered;
    }

    /// <summary>Whether mounts go through mount(2) (root) rather than fusermount3.</summary>
    public static bool Privileged => Syscalls.GetEuid() == 0;

    /// <summary>Mounts on <paramref name="path"/> and returns the connection's /dev/fuse descriptor.</summary>
    public static FuseDevice Mount(string path, int maxRead, bool allowOther, bool defaultPermissions, TimeSpan timeout)
    {
        if (!Privileged)
            return Fusermount.Mount(path, maxRead, allowOther, defaultPermissions, timeout);
        var device = FuseDevice.Open();
        var data = MountData(device.Fd, Syscalls.GetEuid(), Syscalls.GetEgid(), maxRead, allowOther, defaultPermissions);
        if (Syscalls.Mount("appliance", path, "fuse", (nuint)(Syscalls.MS_NOSUID | Syscalls.MS_NODEV), data) == 0)
            return device;
        var errno = Syscalls.LastError;
        device.Dispose();
        throw new FuseMountException($"mount(2) of {path} failed: {Syscalls.Describe(errno)}");
    }

    /// <summary>Unmounts; when the mount is busy, detaches it lazily so it goes once the last user leaves. Returns false if it was busy.</summary>
    public static bool Unmount(string path)
    {
        if (!Privileged)
        {
            if (!IsMountPoint(path) || Fusermount.Unmount(path, lazy: false) is null)
                return true;
            if (Fusermount.Unmount(path, lazy: true) is { } failure)
                throw new FuseMountException($"unmounting {path} failed: {failure}");
            return false;
        }
        if (Syscalls.Umount2(path, 0) == 0)
            return true;
        var errno = Syscalls.LastError;
        if (errno is EINVAL or ENOENT)
            return true;
        if (errno != EBUSY || Syscalls.Umount2(path, Syscalls.MNT_DETACH) != 0)
            throw new FuseMountException($"unmounting {path} failed: {Syscalls.Describe(Syscalls.LastError)}");
        return false;
    }

    /// <summary>Detaches a mount at once, busy or not; what went wrong, or null.</summary>
    private static string? DetachLazily(string path)
    {
        if (!Privileged)
            return Fusermount.Unmount(path, lazy: true);
        return Syscalls.Umount2(path, Syscalls.MNT_DETACH) == 0 ? null : Syscalls.Describe(Syscalls.LastError);
    }

    /// <summary>The kernel device number (major:minor) of the mount on <paramref name="path"/>, from /proc/self/mountinfo.</summary>
    public static string? MountDevice(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd('/');
        if (full.Length == 0)
            full = "/";
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // id parent major:minor root mount-point options ... ; spaces in paths are escaped as \040.
            var fields = line.Split(' ');
            if (fields.Length > 4 && UnescapeMountInfo(fields[4]) == full)
                return fields[2];
        }
        return null;
    }

    public static bool IsMountPoint(string path) => MountDevice(path) is not null;

    /// <summary>
    /// Aborts the connection through fusectl so that readers return and blocked callers get ENOTCONN; used when a busy
    /// mount had to be detached lazily and would otherwise keep its readers forever.
    /// </summary>
    public static bool Abort(string device)
    {
        var parts = device.Split(':');
        if (parts.Length != 2 || !uint.TryParse(parts[0], out var major) || !uint.TryParse(parts[1], out var minor))
            return false;
        // fusectl names a connection by the kernel's dev_t of the superblock: major << 20 | minor.
        var abort = $"/sys/fs/fuse/connections/{(major << 20) | minor}/abort";
        if (!File.Exists(abort))
            return false;
        try
        {
            File.WriteAllText(abort, "1");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string UnescapeMountInfo(string field) =>
        field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
             .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
}
