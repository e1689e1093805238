// Package preview makes and serves what a box's participants see of a file
// without downloading it (R-P1–R-P3): thumbnails and inline renditions of images
// (EXIF orientation applied; HEIC and TIFF as JPEG), video poster frames and PDF
// first pages from sandboxed ffmpeg and pdftoppm, and for DICOM — single files,
// several files of a series, or a ZIP of a study — the header summary, a rendered
// JPEG and every frame in the browser viewer's 16-bit form, decoded by dicom.Guard
// in a child process.
//
// Previews are made by a job queued in the transaction that adds the file. They
// are sealed objects under box.PreviewPrefix, encrypted with the file's own data
// key, so they go with the file's key and are erased with its objects. The
// previews table keeps only state, kind, sizes and frame counts; anything personal
// (a DICOM header's patient name, study, ...) is stored sealed, never in a column.
// Every read is scoped to the box's participants: to anyone else a preview answers
// exactly as a file that does not exist.
package preview
