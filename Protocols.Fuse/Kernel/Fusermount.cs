using System.Diagnostics;

namespace Protocols.Fuse.Kernel;

/// <summary>
/// Mounting without root through fusermount3, libfuse's setuid helper: it opens /dev/fuse, mounts it on a directory
/// the user may write to, and hands the open descriptor back over the unix socket named by _FUSE_COMMFD
/// (SCM_RIGHTS). Unmounting goes through it too, since umount2(2) needs CAP_SYS_ADMIN.
/// </summary>
internal static unsafe class Fusermount
{
    private const string Program = "fusermount3";
    private static readonly string[] WellKnownPaths = ["/usr/bin/fusermount3", "/bin/fusermount3", "/usr/local/bin/fusermount3"];

    /// <summary>The helper's path: the first fusermount3 on PATH, else a well-known location; null when not installed.</summary>
    public static string? Find()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = System.IO.Path.Combine(dir, Program);
            if (File.Exists(candidate))
                return candidate;
        }
        return WellKnownPaths.FirstOrDefault(File.Exists);
    }

    /// <summary>The -o options fusermount3 passes on; it adds fd, rootmode, user_id and group_id itself.</summary>
    public static string MountOptions(int maxRead, bool allowOther, bool defaultPermissions) =>
        "nosuid,nodev,fsname=appliance,subtype=appliance," + FuseKernelMount.CommonOptions(maxRead, allowOther, defaultPermissions);

    /// <summary>Mounts on <paramref name="path"/> and returns the connection's /dev/fuse descriptor.</summary>
    public static FuseDevice Mount(string path, int maxRead, bool allowOther, bool defaultPermissions, TimeSpan timeout)
    {
        var helper = Find() ?? throw new FuseMountException(
            $"mounting FUSE as a user other than root needs {Program} (Debian package fuse3)");
        var pair = stackalloc int[2];
        // The helper's end must survive exec, so it is made without SOCK_CLOEXEC; ours is closed on exec at once.
        if (Syscalls.SocketPair(Syscalls.AF_UNIX, Syscalls.SOCK_STREAM, 0, pair) != 0)
            throw new FuseMountException($"socketpair for {Program} failed: {Syscalls.Describe(Syscalls.LastError)}");
        int theirs = pair[0], ours = pair[1];
        try
        {
            Syscalls.Fcntl(ours, Syscalls.F_SETFD, Syscalls.FD_CLOEXEC);
            var info = new ProcessStartInfo(helper)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { "-o", MountOptions(maxRead, allowOther, defaultPermissions), "--", path })
                info.ArgumentList.Add(arg);
            info.Environment["_FUSE_COMMFD"] = theirs.ToString(System.Globalization.CultureInfo.InvariantCulture);
            using var process = Process.Start(info) ?? throw new FuseMountException($"{Program} could not be started");
            var stderr = process.StandardError.ReadToEndAsync();
            // Once the helper runs, our copy of its end goes, so that its exit without a descriptor reads as end of stream.
            Syscalls.Close(theirs);
            theirs = -1;
            var fd = ReceiveDescriptor(ours, timeout);
            if (!process.WaitForExit(timeout))
            {
                process.Kill();
                throw new FuseMountException($"{Program} did not finish mounting {path} within {timeout.TotalSeconds:0} s");
            }
            var message = stderr.Result.Trim();
            if (fd < 0)
                throw new FuseMountException($"{Program} could not mount {path}: {(message.Length > 0 ? message : $"exit code {process.ExitCode}")}");
            Syscalls.Fcntl(fd, Syscalls.F_SETFD, Syscalls.FD_CLOEXEC);
            return FuseDevice.Adopt(fd);
        }
        finally
        {
            if (theirs >= 0)
                Syscalls.Close(theirs);
            Syscalls.Close(ours);
        }
    }

    /// <summary>Unmounts through the helper (lazily with <paramref name="lazy"/>); the helper's complaint on failure.</summary>
    public static string? Unmount(string path, bool lazy)
    {
        var helper = Find();
        if (helper is null)
            return $"{Program} is not installed";
        var info = new ProcessStartInfo(helper) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(lazy ? "-uz" : "-u");
        info.ArgumentList.Add("--");
        info.ArgumentList.Add(path);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? null : stderr.Trim();
    }

    /// <summary>The descriptor the helper sends, or -1 when it closed the socket (or timed out) without one.</summary>
    private static int ReceiveDescriptor(int socket, TimeSpan timeout)
    {
        var limit = new Syscalls.TimeValue
        {
            Seconds = (long)timeout.TotalSeconds,
            Microseconds = timeout.Milliseconds * 1000L,
        };
        Syscalls.SetSocketOption(socket, Syscalls.SOL_SOCKET, Syscalls.SO_RCVTIMEO, &limit, (uint)sizeof(Syscalls.TimeValue));
        byte data;
        var vector = new Syscalls.IoVector { Base = &data, Length = 1 };
        var rights = new Syscalls.RightsMessage();
        var message = new Syscalls.MessageHeader
        {
            Vectors = &vector,
            VectorCount = 1,
            Control = &rights,
            ControlLength = (nuint)sizeof(Syscalls.RightsMessage),
        };
        while (true)
        {
            var n = Syscalls.ReceiveMessage(socket, &message, 0);
            if (n < 0 && Syscalls.LastError == 4)
                continue;
            if (n <= 0)
                return -1;
            // cmsg_len of one int: CMSG_LEN(sizeof(int)) = 16 + 4.
            var carriesOneFd = rights.Level == Syscalls.SOL_SOCKET && rights.Type == Syscalls.SCM_RIGHTS
                && message.ControlLength >= 20 && rights.Length == 20;
            return carriesOneFd ? rights.Fd : -1;
        }
    }
}
