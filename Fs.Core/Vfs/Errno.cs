namespace Fs.Core.Vfs;

/// <summary>POSIX error numbers (Linux values), the one error vocabulary of the file system.</summary>
public enum Errno
{
    OK = 0,
    EPERM = 1,
    ENOENT = 2,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    EBADF = 9,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EBUSY = 16,
    EEXIST = 17,
    EXDEV = 18,
    ENODEV = 19,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    ENFILE = 23,
    EMFILE = 24,
    ETXTBSY = 26,
    EFBIG = 27,
    ENOSPC = 28,
    ESPIPE = 29,
    EROFS = 30,
    EMLINK = 31,
    ERANGE = 34,
    EDEADLK = 35,
    ENAMETOOLONG = 36,
    ENOLCK = 37,
    ENOSYS = 38,
    ENOTEMPTY = 39,
    ELOOP = 40,
    ENODATA = 61,
    EOVERFLOW = 75,
    EOPNOTSUPP = 95,
    ETIMEDOUT = 110,
    ESTALE = 116,
    EDQUOT = 122,
    ECANCELED = 125,
}

/// <summary>Thrown inside the core to abort an operation with an errno; converted to a result at the API edge.</summary>
public sealed class FsException(Errno errno, string? message = null)
    : Exception(message ?? errno.ToString())
{
    public Errno Errno { get; } = errno;
}
