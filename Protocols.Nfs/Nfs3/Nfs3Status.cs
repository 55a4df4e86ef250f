using Fs.Core.Vfs;

namespace Protocols.Nfs.Nfs3;

/// <summary>nfsstat3 (RFC 1813 section 2.6).</summary>
public enum Nfs3Status : uint
{
    Ok = 0,
    Perm = 1,
    NoEnt = 2,
    Io = 5,
    NxIo = 6,
    Acces = 13,
    Exist = 17,
    XDev = 18,
    NoDev = 19,
    NotDir = 20,
    IsDir = 21,
    Inval = 22,
    FBig = 27,
    NoSpc = 28,
    RoFs = 30,
    MLink = 31,
    NameTooLong = 63,
    NotEmpty = 66,
    DQuot = 69,
    Stale = 70,
    Remote = 71,
    BadHandle = 10001,
    NotSync = 10002,
    BadCookie = 10003,
    NotSupp = 10004,
    TooSmall = 10005,
    ServerFault = 10006,
    BadType = 10007,
    Jukebox = 10008,
}

/// <summary>The one mapping from the file system's errno to NFSv3 status codes.</summary>
public static class Nfs3Errors
{
    public static Nfs3Status FromErrno(Errno errno) => errno switch
    {
        Errno.OK => Nfs3Status.Ok,
        Errno.EPERM => Nfs3Status.Perm,
        Errno.ENOENT => Nfs3Status.NoEnt,
        Errno.EIO => Nfs3Status.Io,
        Errno.ENXIO => Nfs3Status.NxIo,
        Errno.EACCES => Nfs3Status.Acces,
        Errno.EEXIST => Nfs3Status.Exist,
        Errno.EXDEV => Nfs3Status.XDev,
        Errno.ENODEV => Nfs3Status.NoDev,
        Errno.ENOTDIR => Nfs3Status.NotDir,
        Errno.EISDIR => Nfs3Status.IsDir,
        Errno.EINVAL or Errno.ELOOP or Errno.ERANGE => Nfs3Status.Inval,
        Errno.EFBIG or Errno.EOVERFLOW => Nfs3Status.FBig,
        Errno.ENOSPC => Nfs3Status.NoSpc,
        Errno.EROFS => Nfs3Status.RoFs,
        Errno.EMLINK => Nfs3Status.MLink,
        Errno.ENAMETOOLONG => Nfs3Status.NameTooLong,
        Errno.ENOTEMPTY => Nfs3Status.NotEmpty,
        Errno.EDQUOT => Nfs3Status.DQuot,
        Errno.ESTALE => Nfs3Status.Stale,
        Errno.EOPNOTSUPP or Errno.ENOSYS => Nfs3Status.NotSupp,
        // Transient conditions: JUKEBOX tells the client to retry later instead of failing the application.
        Errno.EAGAIN or Errno.EBUSY or Errno.EINTR or Errno.ETIMEDOUT or Errno.ENOMEM => Nfs3Status.Jukebox,
        Errno.ETXTBSY => Nfs3Status.Acces,
        _ => Nfs3Status.Io,
    };
}
