using Fs.Core.Vfs;
using Microsoft.AspNetCore.Http;

namespace Protocols.WebDav;

/// <summary>The one mapping from file-system errno values to HTTP status codes, and the reason phrases of multistatus bodies.</summary>
public static class DavStatus
{
    public const int MultiStatus = 207;
    public const int Locked = 423;
    public const int FailedDependency = 424;
    public const int InsufficientStorage = 507;
    public const int LoopDetected = 508;

    /// <summary>The status a failed file-system call answers with.</summary>
    public static int FromErrno(Errno errno) => errno switch
    {
        Errno.OK => StatusCodes.Status200OK,
        Errno.ENOENT or Errno.ESTALE => StatusCodes.Status404NotFound,
        Errno.EACCES or Errno.EPERM or Errno.EROFS => StatusCodes.Status403Forbidden,
        Errno.EEXIST or Errno.ENOTEMPTY or Errno.ENOTDIR or Errno.EISDIR or Errno.EMLINK => StatusCodes.Status409Conflict,
        Errno.ENOSPC or Errno.EDQUOT => InsufficientStorage,
        Errno.EAGAIN or Errno.EBUSY or Errno.ETXTBSY => Locked,
        Errno.ENOLCK => StatusCodes.Status412PreconditionFailed,
        Errno.EINVAL or Errno.ENAMETOOLONG or Errno.ERANGE or Errno.E2BIG => StatusCodes.Status400BadRequest,
        Errno.EFBIG => StatusCodes.Status413PayloadTooLarge,
        Errno.EXDEV => StatusCodes.Status502BadGateway,
        Errno.ELOOP => LoopDetected,
        Errno.EOPNOTSUPP or Errno.ENOSYS => StatusCodes.Status501NotImplemented,
        Errno.EINTR or Errno.ETIMEDOUT or Errno.ECANCELED => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>The status line of a multistatus response element, e.g. "HTTP/1.1 404 Not Found".</summary>
    public static string Line(int status) => $"HTTP/1.1 {status} {Reason(status)}";

    public static string Reason(int status) => status switch
    {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        207 => "Multi-Status",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        423 => "Locked",
        424 => "Failed Dependency",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        _ => "Status " + status,
    };
}
