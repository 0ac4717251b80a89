/** The authenticated staff member every staff-side service receives. */
export interface StaffActor {
  userId: string;
  organizationId: string;
  organizationName: string;
  name: string;
  email: string;
  role: 'staff' | 'admin';
}
