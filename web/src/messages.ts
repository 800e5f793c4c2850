/**
 * What the web app tells a person when something fails, in French and English. One entry per
 * error code of the crypto core (`CarnetError`) and of the relay (`ApiError`), plus `NETWORK`.
 * A message names the problem and what to do; it never shows decrypted data or a raw stack.
 * The test checks that every code of the core and of the relay has both languages.
 */
import type { CarnetErrorCode } from '@carnet/shared/errors';

/** Languages of the interface. */
export type Lang = 'fr' | 'en';

/** A message in both languages. */
export interface Message {
  fr: string;
  en: string;
}

/** Messages for the crypto core's error codes. */
export const CORE_MESSAGES: Record<CarnetErrorCode, Message> = {
  INTEGRITY: {
    fr: 'Ces données ne peuvent pas être ouvertes : elles ont été modifiées ou la clé ne correspond pas. Rien n’a été affiché.',
    en: 'This data cannot be opened: it was altered or the key does not match. Nothing was shown.',
  },
  CONTEXT_MISMATCH: {
    fr: 'Cet élément appartient à un autre dossier ou à une autre version. Il a été refusé.',
    en: 'This item belongs to another folder or version. It was refused.',
  },
  KEY_CHANGED: {
    fr: 'Les clés de ce compte ont changé. Vérifiez le nouveau code de sécurité avec la personne avant de continuer.',
    en: 'This account’s keys changed. Check the new safety code with the person before going on.',
  },
  KEY_UNVERIFIED: {
    fr: 'Le code de sécurité ne correspond pas. Rien n’a été partagé. Comparez le code par un autre moyen.',
    en: 'The safety code does not match. Nothing was shared. Compare the code another way.',
  },
  ACL_UNSIGNED: {
    fr: 'La liste des membres de ce dossier n’est pas signée par son propriétaire. Le dossier n’a pas été ouvert.',
    en: 'This folder’s member list is not signed by its owner. The folder was not opened.',
  },
  UNAUTHORIZED_AUTHOR: {
    fr: 'Cette note a été écrite par quelqu’un qui n’est pas membre du dossier. Elle a été écartée.',
    en: 'This record was written by someone who is not a member of the folder. It was set aside.',
  },
  ROLLBACK: {
    fr: 'Le serveur a présenté une version plus ancienne que celle déjà vue. Réessayez plus tard et signalez-le.',
    en: 'The server showed an older version than one already seen. Try again later and report it.',
  },
  RECORD_MISSING: {
    fr: 'Un élément du dossier manque dans la réponse du serveur. Le dossier n’est pas affiché incomplet.',
    en: 'An item of the folder is missing from the server’s answer. The folder is not shown incomplete.',
  },
  DOWNGRADE: {
    fr: 'Cet élément utilise un format ancien qui n’est plus accepté.',
    en: 'This item uses an old format that is no longer accepted.',
  },
  TRUNCATED: {
    fr: 'Les données sont incomplètes. Réessayez le téléchargement.',
    en: 'The data is incomplete. Try the download again.',
  },
  KDF_TOO_WEAK: {
    fr: 'Les paramètres de protection du mot de passe sont trop faibles. La connexion a été refusée.',
    en: 'The password protection settings are too weak. The login was refused.',
  },
  GRANT_EXPIRED: {
    fr: 'Cet accès du support a expiré ou a été révoqué.',
    en: 'This support access has expired or was revoked.',
  },
  GRANT_NOT_YET_VALID: {
    fr: 'Cet accès du support n’a pas encore commencé.',
    en: 'This support access has not started yet.',
  },
  GRANT_SCOPE: {
    fr: 'Cet élément est hors du périmètre de l’accès accordé au support.',
    en: 'This item is outside the scope of the support access.',
  },
  GRANT_RIGHTS: {
    fr: 'L’accès accordé au support ne permet pas cette action.',
    en: 'The support access does not allow this action.',
  },
  FORMAT: {
    fr: 'Cet élément est mal formé. Il a été refusé.',
    en: 'This item is malformed. It was refused.',
  },
  INVALID_ARGUMENT: {
    fr: 'Une valeur saisie n’est pas valide. Vérifiez le formulaire.',
    en: 'A value you entered is not valid. Check the form.',
  },
  BAD_RECOVERY_CODE: {
    fr: 'Ce code de récupération n’est pas valide. Vérifiez chaque caractère.',
    en: 'This recovery code is not valid. Check each character.',
  },
  BAD_PASSWORD: {
    fr: 'Identifiant ou mot de passe incorrect. Réessayez, ou utilisez votre code de récupération.',
    en: 'Wrong user name or password. Try again, or use your recovery code.',
  },
  UNSUPPORTED: {
    fr: 'Ce navigateur ne permet pas le chiffrement requis. Mettez-le à jour ou utilisez-en un autre.',
    en: 'This browser lacks the encryption Carnet needs. Update it or use another one.',
  },
  AUDIT_BROKEN: {
    fr: 'Le journal d’accès de ce dossier a été réécrit ou tronqué depuis votre dernière visite. Rien n’a été affiché : signalez-le.',
    en: 'This folder’s access log was rewritten or cut short since you last saw it. Nothing was shown: report it.',
  },
};

/** Messages for the relay's error codes (docs/api.md) and for an unreachable relay. */
export const RELAY_MESSAGES: Record<string, Message> = {
  NETWORK: {
    fr: 'Le serveur est injoignable. Vérifiez votre connexion, puis réessayez.',
    en: 'The server cannot be reached. Check your connection, then try again.',
  },
  BAD_REQUEST: {
    fr: 'La demande n’a pas pu être traitée. Rechargez la page.',
    en: 'The request could not be processed. Reload the page.',
  },
  VALIDATION: {
    fr: 'Une valeur envoyée n’est pas valide. Vérifiez le formulaire.',
    en: 'A value sent is not valid. Check the form.',
  },
  DIGEST_MISMATCH: {
    fr: 'Le fichier a été altéré pendant l’envoi. Réessayez.',
    en: 'The file was altered during upload. Try again.',
  },
  UNAUTHENTICATED: {
    fr: 'Votre session a expiré. Reconnectez-vous.',
    en: 'Your session has expired. Log in again.',
  },
  FORBIDDEN_ORIGIN: {
    fr: 'Cette demande ne vient pas de l’application Carnet et a été refusée.',
    en: 'This request does not come from the Carnet app and was refused.',
  },
  NOT_FOUND: {
    fr: 'Introuvable, ou vous n’y avez pas (ou plus) accès.',
    en: 'Not found, or you do not (or no longer) have access to it.',
  },
  CONFLICT: {
    fr: 'Quelqu’un a modifié cet élément en même temps. Rechargez-le : rien n’a été écrasé.',
    en: 'Someone changed this item at the same time. Reload it: nothing was overwritten.',
  },
  PAYLOAD_TOO_LARGE: {
    fr: 'Ce fichier est trop volumineux.',
    en: 'This file is too large.',
  },
  QUOTA_EXCEEDED: {
    fr: 'Votre espace de stockage est plein. Supprimez des fichiers ou demandez plus d’espace.',
    en: 'Your storage is full. Delete files or ask for more space.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    fr: 'Format d’envoi non accepté par le serveur.',
    en: 'The server does not accept this upload format.',
  },
  RANGE_NOT_SATISFIABLE: {
    fr: 'La partie demandée du fichier n’existe pas. Réessayez le téléchargement.',
    en: 'The requested part of the file does not exist. Try the download again.',
  },
  RATE_LIMITED: {
    fr: 'Trop de tentatives. Patientez quelques minutes avant de réessayer.',
    en: 'Too many attempts. Wait a few minutes before trying again.',
  },
  INTERNAL: {
    fr: 'Le serveur a rencontré une erreur. Vos données n’ont pas été modifiées. Réessayez.',
    en: 'The server hit an error. Your data was not changed. Try again.',
  },
  UNAVAILABLE: {
    fr: 'Le serveur est momentanément indisponible. Réessayez dans un instant.',
    en: 'The server is briefly unavailable. Try again in a moment.',
  },
  FOLDER_DELETED: {
    fr: 'Ce dossier a été supprimé par son praticien.',
    en: 'This folder was deleted by its practitioner.',
  },
};

const UNKNOWN: Message = {
  fr: 'Une erreur inattendue est survenue. Vos données n’ont pas été modifiées.',
  en: 'An unexpected error occurred. Your data was not changed.',
};

/** The message for an error code of the core or of the relay, in `lang`. */
export function messageFor(code: string, lang: Lang): string {
  const m = (CORE_MESSAGES as Record<string, Message>)[code] ?? RELAY_MESSAGES[code] ?? UNKNOWN;
  return m[lang];
}
