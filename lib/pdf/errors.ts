/** A PDF whose structure our parser cannot read (xref, trailer, objects, filters). */
export class PdfFormatError extends Error {}
