"""Vocabulary of the demo data: Guadeloupe communes, names, formations, texts.

Everything here is constant data; the generator draws from it with a seeded
random generator, so the same seed gives the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

# Communes of Guadeloupe with a rough population weight (thousands).
COMMUNES: tuple[tuple[str, float], ...] = (
    ("Les Abymes", 53), ("Baie-Mahault", 31), ("Le Gosier", 26), ("Petit-Bourg", 24),
    ("Sainte-Anne", 24), ("Le Moule", 22), ("Capesterre-Belle-Eau", 17), ("Sainte-Rose", 17),
    ("Lamentin", 16), ("Morne-à-l'Eau", 16), ("Pointe-à-Pitre", 15), ("Saint-François", 12),
    ("Basse-Terre", 10), ("Saint-Claude", 10), ("Trois-Rivières", 8), ("Petit-Canal", 8),
    ("Gourbeyre", 8), ("Goyave", 8), ("Bouillante", 7), ("Vieux-Habitants", 7),
    ("Pointe-Noire", 6), ("Port-Louis", 5.5), ("Baillif", 5), ("Grand-Bourg", 5),
    ("Anse-Bertrand", 4.5), ("Deshaies", 4), ("Capesterre-de-Marie-Galante", 3.2),
    ("Saint-Louis", 2.5), ("Vieux-Fort", 1.8), ("Terre-de-Haut", 1.5), ("La Désirade", 1.4),
    ("Terre-de-Bas", 1),
)  # fmt: skip

FIRST_NAMES_F: tuple[str, ...] = (
    "Éloïse", "Maëlys", "Noémie", "Hélène", "Anaïs", "Léa", "Chloé", "Océane", "Inès", "Zoé",
    "Gaëlle", "Thérèse", "Laëtitia", "Marie-Josée", "Béatrice", "Ketty", "Jessica", "Mélissa",
    "Cindy", "Sandrine", "Nathalie", "Émilie", "Sabrina", "Manon", "Axelle", "Léonie", "Maïa",
    "Kimberly", "Rose-Aimée", "Ludivine", "Séverine", "Aurélie", "Marie-Line", "Josiane",
    "Christelle", "Stéphanie", "Yaëlle", "Naïma", "Clémence", "Lucie",
)  # fmt: skip
FIRST_NAMES_M: tuple[str, ...] = (
    "Joël", "Grégory", "Jérémie", "Mathéo", "Maël", "Cédric", "Frédéric", "Stéphane", "Josué",
    "Ludovic", "Yannick", "Fabrice", "Rudy", "Mickaël", "Loïc", "Sébastien", "Dimitri", "Kévin",
    "Jean-Claude", "Jean-Marc", "Teddy", "Willy", "Jérôme", "Raphaël", "Noé", "Timothée",
    "Thierry", "Daniel", "Ruddy", "Steeve", "Nicolas", "Olivier", "Hervé", "Gaël", "Éric",
    "José", "Killian", "Enzo", "Aurélien", "Rémi",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Lubin", "Jalton", "Bélénus", "Théodore", "Nérée", "Cornélie", "Bade", "Ramassamy",
    "Sitcharn", "Dorville", "Léandre", "Valérius", "Fleurival", "Anselme", "Gustave", "Gaspard",
    "Pédurand", "Lacroix", "Célestine", "Hippolyte", "Zénon", "Marthe", "Pierre-Louis",
    "Séraphin", "Ménès", "Boisdur", "Nagau", "Mounien", "Vingadassalom", "Sainte-Luce", "Rémy",
    "Éloi", "Désiré", "Clotilde", "Chéry", "Edmond", "Plaisir", "Bienvenu", "Lafortune",
    "Saint-Val", "Jean-Baptiste", "Élisabeth", "Déglas", "Siméon", "Alexis", "Pétro", "Durimel",
    "Démocrite", "Jalta", "Narayanin", "Sablon", "Bambuck", "Chalcol", "Mathurin", "Ferdinand",
    "Romain", "Louisy", "Méphon", "Coco", "Troupé", "Ismaël", "Galvani", "Borel", "Nébor",
)  # fmt: skip
# Names that have broken naive SQL and HTML before: kept on purpose.
HOSTILE_LAST_NAMES: tuple[str, ...] = ("N'Diaye", "D'Alembert")

EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net")


@dataclass(frozen=True)
class FormationSpec:
    """One formation of the catalogue and how busy it is."""

    slug: str
    titre: str
    domaine: str
    duree_heures: int
    prix_euros: int
    modalite: str
    lieu: str
    code_rncp: str | None
    weight: float  # share of the applications
    cadence_months: int  # a new session every N months
    weeks: int  # length of one session
    actif: bool = True


FORMATIONS: tuple[FormationSpec, ...] = (
    FormationSpec("developpeur-web", "Développeur web et web mobile", "Numérique", 805, 7490,
                  "hybride", "Les Abymes", "RNCP37674", 1.3, 4, 26),
    FormationSpec("technicien-assistance-informatique", "Technicien d'assistance en informatique",
                  "Numérique", 770, 6280, "presentiel", "Baie-Mahault", "RNCP37682", 1.0, 4, 24),
    FormationSpec("community-manager", "Community manager", "Numérique", 385, 2400,
                  "distanciel", "Pointe-à-Pitre", "RNCP35637", 0.8, 3, 12),
    FormationSpec("aide-soignant", "Aide-soignant (DEAS)", "Santé-social", 1540, 8900,
                  "presentiel", "Pointe-à-Pitre", "RNCP35830", 1.6, 6, 44),
    FormationSpec("assistant-vie-familles", "Assistant de vie aux familles (ADVF)",
                  "Santé-social", 490, 3900, "presentiel", "Le Moule", "RNCP34690", 1.3, 3, 16),
    FormationSpec("accompagnant-educatif-social", "Accompagnant éducatif et social (DEAES)",
                  "Santé-social", 1050, 6900, "hybride", "Basse-Terre", "RNCP36004", 0.9, 6, 36),
    FormationSpec("macon-vrd", "Maçon en voirie et réseaux divers", "BTP", 735, 5600,
                  "presentiel", "Baie-Mahault", "RNCP35985", 0.8, 4, 22),
    FormationSpec("electricien-batiment", "Électricien d'équipement du bâtiment", "BTP", 840,
                  6100, "presentiel", "Petit-Bourg", "RNCP36135", 0.9, 4, 25),
    FormationSpec("agent-hotelier", "Agent hôtelier", "Tourisme-hôtellerie", 420, 2950,
                  "presentiel", "Le Gosier", "RNCP36078", 1.0, 3, 13),
    FormationSpec("commis-cuisine", "Commis de cuisine", "Tourisme-hôtellerie", 560, 3800,
                  "presentiel", "Sainte-Anne", "RNCP37859", 0.9, 3, 17),
    FormationSpec("anglais-tourisme", "Anglais professionnel du tourisme", "Tourisme-hôtellerie",
                  120, 1500, "distanciel", "Le Gosier", None, 0.6, 2, 8),
    FormationSpec("comptable-assistant", "Comptable assistant", "Gestion", 896, 5900, "hybride",
                  "Pointe-à-Pitre", "RNCP36226", 1.0, 6, 28),
    FormationSpec("secretaire-assistant", "Secrétaire assistant", "Gestion", 700, 4800,
                  "hybride", "Les Abymes", "RNCP36805", 0.9, 4, 21),
    # Kept in the catalogue but closed: no session, no application, nothing.
    FormationSpec("receptionniste-hotellerie", "Réceptionniste en hôtellerie",
                  "Tourisme-hôtellerie", 600, 4200, "presentiel", "Saint-François", "RNCP37211",
                  0.0, 6, 18, actif=False),
)  # fmt: skip

SOURCES: tuple[tuple[str, float], ...] = (
    ("site", 40), ("france_travail", 20), ("mission_locale", 12), ("salon", 8),
    ("prescripteur", 8), ("entreprise", 7), ("autre", 5),
)  # fmt: skip
FUNDING_BY_DOMAIN: dict[str, tuple[tuple[str, float], ...]] = {
    "default": (("cpf", 28), ("france_travail", 27), ("region", 20), ("opco", 8),
                ("employeur", 7), ("personnel", 10)),
    "BTP": (("cpf", 20), ("france_travail", 25), ("region", 18), ("opco", 17),
            ("employeur", 15), ("personnel", 5)),
    "Gestion": (("cpf", 35), ("france_travail", 20), ("region", 12), ("opco", 13),
                ("employeur", 12), ("personnel", 8)),
}  # fmt: skip
# Days from invoice to payment, by funder (min, max), and the share never paid.
PAYMENT_DELAYS: dict[str, tuple[int, int, float]] = {
    "cpf": (15, 45, 0.01), "france_travail": (30, 90, 0.04), "region": (45, 130, 0.08),
    "opco": (30, 75, 0.03), "employeur": (15, 50, 0.04), "personnel": (0, 35, 0.06),
}  # fmt: skip

# The labels of data.workflow.REFUSAL_REASONS, as the triage screen writes them.
REFUSAL_REASONS: tuple[str, ...] = (
    "Prérequis non remplis", "Dossier incomplet", "Financement non trouvé",
    "Projet professionnel inadapté", "Session complète", "Candidat injoignable",
)  # fmt: skip
EVENT_COMMENTS: dict[str, tuple[str, ...]] = {
    "en_etude": ("Dossier complet", "Pièces reçues", "Relance téléphonique faite"),
    "entretien": ("Entretien fixé", "Entretien en visio", "Test de positionnement réussi"),
    "admise": ("Avis favorable du jury", "Admission confirmée", "Prérequis validés"),
    "desistement": ("Le candidat a trouvé un emploi", "Raisons personnelles", "Sans réponse"),
    "inscrite": ("Financement accordé", "Contrat de formation signé"),
    "abandon": ("Reprise d'emploi", "Raisons de santé", "Déménagement", "Sans nouvelles"),
}

PREVIOUS_JOBS: tuple[str, ...] = (
    "vendeuse", "agent d'entretien", "serveur", "manutentionnaire", "caissière",
    "aide à domicile", "ouvrier agricole", "agent de sécurité", "employé de banane",
    "standardiste", "livreur", "animatrice",
)  # fmt: skip
MOTIVATIONS: tuple[str, ...] = (
    "Je souhaite me reconvertir dans le domaine « {domaine} » après {years} ans comme {job}.",
    "Passionné(e) depuis longtemps, je veux obtenir le titre « {titre} » pour trouver un emploi "
    "stable en Guadeloupe.",
    "Inscrit(e) à France Travail depuis {months} mois, cette formation correspond à mon projet.",
    "Mon employeur soutient mon projet : la formation {titre} me permettra d'évoluer.",
    "Bonjour,\nJe suis très motivé(e) par la formation {titre}.\nJe suis disponible "
    "immédiatement.\nCordialement.",
    "Après un bac pro, je veux me spécialiser ({domaine}) et rester travailler au pays.",
    "J'ai déjà une expérience de {years} ans comme {job} ; je veux valider mes compétences.",
)
# Free text that must never be rendered as HTML or markdown, nor break COPY.
HOSTILE_MOTIVATIONS: tuple[str, ...] = (
    "**Très motivée** pour cette formation <script>alert(1)</script> — voir [mon profil](javascript:alert(2))",
    "Mon CV est dans C:\\Documents\\CV\tversion 2 ; « guillemets » et 'apostrophes' ; 100 % motivé",
)

COMPANY_PREFIXES: tuple[str, ...] = (
    "Karukera", "Caraïbes", "Antilles", "Archipel", "Soufrière", "Alizés", "Lagon Bleu",
    "Colibri", "Flamboyant", "Madras", "Grande-Terre", "Basse-Terre", "Marie-Galante",
    "Ti Punch", "Fromager", "Mangrove", "Côte-sous-le-Vent", "Créole",
)  # fmt: skip
COMPANY_SECTORS: dict[str, tuple[str, ...]] = {
    "Numérique": ("Numérique", "Informatique", "Web Services", "Digital"),
    "Santé-social": ("Santé", "Aide à Domicile", "Services à la Personne", "EHPAD"),
    "BTP": ("BTP", "Construction", "Travaux", "Électricité"),
    "Tourisme-hôtellerie": ("Hôtel", "Restauration", "Résidence", "Tourisme"),
    "Gestion": ("Conseil", "Expertise Comptable", "Gestion", "Services"),
}
LEGAL_FORMS: tuple[str, ...] = ("SARL", "SAS", "EURL", "SA", "SASU")
JOB_TITLES: dict[str, tuple[str, ...]] = {
    "Numérique": ("Développeur web junior", "Technicien support", "Chargé de communication web",
                  "Technicien réseaux"),
    "Santé-social": ("Aide-soignant", "Auxiliaire de vie", "Accompagnant éducatif et social",
                     "Agent de service hospitalier"),
    "BTP": ("Maçon VRD", "Électricien", "Chef d'équipe VRD", "Manœuvre BTP"),
    "Tourisme-hôtellerie": ("Agent hôtelier", "Commis de cuisine", "Réceptionniste",
                            "Femme/valet de chambre"),
    "Gestion": ("Comptable assistant", "Secrétaire assistant", "Assistant administratif",
                "Gestionnaire paie"),
}  # fmt: skip
CONTACT_SUBJECTS: tuple[tuple[str, str], ...] = (
    ("Demande d'information", "Bonjour, je voudrais connaître les dates de la prochaine session."),
    ("Financement CPF", "Est-il possible de financer la formation avec mon CPF ?"),
    ("Inscription", "Je n'arrive pas à finaliser mon inscription sur le site."),
    ("Partenariat entreprise", "Notre entreprise souhaite accueillir des stagiaires."),
    ("Réclamation", "Je n'ai toujours pas reçu mon attestation de fin de formation."),
    ("Devis", "Pouvez-vous nous faire un devis pour former 4 salariés ?"),
)
EVALUATION_COMMENTS: dict[int, tuple[str, ...]] = {
    5: ("Formation excellente, formateurs à l'écoute.", "Très bonne ambiance, je recommande !"),
    4: ("Bonne formation, un peu dense.", "Contenu utile, stage bien organisé."),
    3: ("Correct mais trop de théorie.", "Locaux à améliorer."),
    2: ("Organisation à revoir.", "Plannings changés trop souvent."),
    1: ("Très déçu.", "Pas assez de pratique."),
}
