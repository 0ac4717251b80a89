/** PAdES sealing (B-LTA) and verification. */
export { sealPdf, addArchiveTimestamp, configurePadesDefaults, type SealOptions, type RevocationFn, type PadesDefaults } from './seal';
